#!/usr/bin/python3
"""citadel driven from Python (citadel.keras) on the workloads W1, W1i, W2 and W2i of
../shared/BENCHMARKS.md: the twin of bench/citadel_bench.cpp and bench/torch_bench.py,
printing the same JSON lines, so bench/compare shows what the Python layer costs. Run with
Debian's python3 and PYTHONPATH=build/python (bench/compare does).

    python_bench.py WORKLOAD [--threads N] [--reps R]    WORKLOAD: w1 w1i w2 w2i
"""
import argparse
import statistics

import numpy as np

import citadel
from bench_rows import FASHION, mlp_training_flops, read_idx, report, timed
from citadel.keras import layers, optimizers
from citadel.keras.models import Sequential


def w1_model():
    model = Sequential()
    model.add(layers.Dense(10, input_dim=8, activation="relu"))
    model.add(layers.Dense(10, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def w1_data():
    generator = np.random.default_rng(0)
    x = generator.random((1000, 8), dtype=np.float32)
    y = generator.integers(0, 2, size=(1000, 1)).astype(np.float32)
    return x, y


def run_w1(reps):
    x, y = w1_data()
    times, accuracy = [], 0.0
    for rep in range(reps + 1):  # rep 0 warms up
        model = w1_model()
        history = None

        def fit():
            nonlocal history
            history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
        t = timed(fit)
        if rep > 0:
            times.append(t)
        accuracy = history.history["accuracy"][-1]
    report("W1", "train 10 epochs", statistics.median(times), "s", "lower", accuracy)
    report("W1", "time per step", statistics.median(times) / 320 * 1e6, "us", "lower")


def run_w1i(reps):
    x, y = w1_data()
    model = w1_model()
    model.fit(x, y, epochs=1, verbose=0)
    row = x[:1].copy()
    for _ in range(1000):
        model.predict(row)
    latencies = [timed(lambda: model.predict(row)) for _ in range(10000)]
    report("W1i", "single-row predict", statistics.median(latencies) * 1e6, "us", "lower")
    rows = x[:1000].copy()
    batch = [timed(lambda: model.predict(rows, batch_size=1000)) for _ in range(reps * 4 + 1)][1:]
    report("W1i", "predict 1000 rows", statistics.median(batch) * 1e6, "us", "lower")


def fashion():
    def images(name):
        return (read_idx(f"{FASHION}/{name}").astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)

    def labels(name):
        return read_idx(f"{FASHION}/{name}").astype(np.float32)

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def w2_model():
    model = Sequential([layers.Flatten(input_shape=(28, 28, 1)), layers.Dense(256, activation="relu"),
                        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.Adam(1e-3), metrics=["accuracy"])
    return model


def run_w2(reps):
    x, y, x_test, y_test = fashion()
    times, accuracy = [], None
    for rep in range(max(1, reps // 2)):
        citadel.set_seed(42 + rep)
        model = w2_model()
        model.train_on_batch(x[:128], y[:128])  # warm-up
        times.append(timed(lambda: model.fit(x, y, epochs=1, batch_size=128, verbose=0)))
        if rep == 0:
            accuracy = model.evaluate(x_test, y_test, batch_size=1000)[1]
    report("W2", "train samples/s", 60000 / statistics.median(times), "samples/s", "higher", accuracy)
    report("W2", "achieved GFLOP/s", mlp_training_flops(256) * 60000 / statistics.median(times) / 1e9, "GFLOP/s",
           "higher")


def run_w2i(reps):
    x, y, x_test, _ = fashion()
    citadel.set_seed(42)
    model = w2_model()
    model.fit(x[:6400], y[:6400], epochs=1, batch_size=128, verbose=0)
    one = x_test[:1].copy()
    for _ in range(200):
        model.predict(one)
    latencies = [timed(lambda: model.predict(one)) for _ in range(2000)]
    report("W2i", "batch-1 predict", statistics.median(latencies) * 1e6, "us", "lower")
    batch = [timed(lambda: model.predict(x_test, batch_size=10000)) for _ in range(reps + 1)][1:]
    report("W2i", "batch-10000 predict", statistics.median(batch) * 1e3, "ms", "lower")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload", choices=["w1", "w1i", "w2", "w2i"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    citadel.set_num_threads(args.threads)
    {"w1": run_w1, "w1i": run_w1i, "w2": run_w2, "w2i": run_w2i}[args.workload](args.reps)


if __name__ == "__main__":
    main()
