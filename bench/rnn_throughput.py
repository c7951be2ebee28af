#!/usr/bin/python3
"""Recurrent layers' training and inference throughput from Python (citadel.keras), on W8's
shapes without the Embedding (float inputs of 128 features stand for its output):
LAYER(128) -> Dense(1, sigmoid), sequences of 200, batch 64. Prints samples/s per thread
count. Run with Debian's python3 and PYTHONPATH=build/python; a measurement, not a test.

    rnn_throughput.py [--layer LSTM|GRU|SimpleRNN] [--threads 1 2] [--batches 6]
"""
import argparse
import time

import numpy as np

import citadel
from citadel.keras import Input, Sequential, layers


def measure(layer, threads, batches, steps=200, features=128, units=128, batch=64):
    citadel.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (batch * batches, steps, features)).astype(np.float32)
    y = (rng.random(batch * batches) > 0.5).astype(np.float32)
    model = Sequential([Input((steps, features)), getattr(layers, layer)(units), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.train_on_batch(x[:batch], y[:batch])  # sizes the workspaces
    best_train = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=batch, shuffle=False, verbose=0)
        best_train = min(best_train, time.perf_counter() - start)
    start = time.perf_counter()
    model.predict(x, batch_size=batch, verbose=0)
    infer = time.perf_counter() - start
    one = x[:1]
    model.predict(one, verbose=0)
    start = time.perf_counter()
    for _ in range(20):
        model.predict(one, verbose=0)
    latency = (time.perf_counter() - start) / 20
    return len(x) / best_train, len(x) / infer, latency * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer", default="LSTM")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batches", type=int, default=6)
    args = parser.parse_args()
    for threads in args.threads:
        train, infer, latency = measure(args.layer, threads, args.batches)
        print(f"{args.layer}(128), T=200, D=128, batch 64, {threads} thread(s): training {train:.0f} samples/s, "
              f"inference {infer:.0f} samples/s, one sequence {latency:.2f} ms")


if __name__ == "__main__":
    main()
