#!/usr/bin/python3
"""PyTorch's side of the benchmark workloads (../shared/BENCHMARKS.md): the twin of
bench/citadel_bench.cpp, printing the same JSON lines. Run with Debian's python3 and
python3-torch (bench/setup installs them).

    torch_bench.py WORKLOAD [--threads N] [--reps R]    WORKLOAD: w1 w1i w2 w2i w3 w3-accuracy w4
"""
import argparse
import statistics
import sys

import numpy as np
import torch
from torch import nn

from bench_rows import FASHION, read_idx, report, timed


def fashion():
    def images(name):
        return torch.from_numpy(read_idx(f"{FASHION}/{name}").astype(np.float32) / 255.0).unsqueeze(1)

    def labels(name):
        return torch.from_numpy(read_idx(f"{FASHION}/{name}").astype(np.int64))

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def train_epoch(model, optimizer, loss_fn, x, y, batch_size, shuffle=True):
    order = torch.randperm(len(x)) if shuffle else torch.arange(len(x))
    model.train()
    for start in range(0, len(x), batch_size):
        rows = order[start:start + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
    return loss.item()


def accuracy_of(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def w1_model():
    return nn.Sequential(nn.Linear(8, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 1), nn.Sigmoid())


def w1_data():
    g = torch.Generator().manual_seed(7)
    return torch.rand(1000, 8, generator=g), torch.randint(0, 2, (1000, 1), generator=g).float()


def run_w1(reps):
    x, y = w1_data()
    times, accuracy = [], 0.0
    for rep in range(reps + 1):
        model = w1_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
        loss_fn = nn.BCELoss()
        t = timed(lambda: [train_epoch(model, optimizer, loss_fn, x, y, 32) for _ in range(10)])
        if rep > 0:
            times.append(t)
        with torch.no_grad():
            accuracy = ((model(x) > 0.5).float() == y).float().mean().item()
    report("W1", "train 10 epochs", statistics.median(times), "s", "lower", accuracy)
    report("W1", "time per step", statistics.median(times) / 320 * 1e6, "us", "lower")


def run_w1i(reps):
    x, y = w1_data()
    model = w1_model()
    model.eval()
    row = x[:1]
    with torch.no_grad():
        for _ in range(1000):
            model(row)
        latencies = [timed(lambda: model(row)) for _ in range(10000)]
        report("W1i", "single-row predict", statistics.median(latencies) * 1e6, "us", "lower")
        batch = [timed(lambda: model(x)) for _ in range(reps * 4 + 1)][1:]
    report("W1i", "predict 1000 rows", statistics.median(batch) * 1e6, "us", "lower")


def w2_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def w3_model():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))


def run_w2(reps):
    x, y, xt, yt = fashion()
    times, accuracy = [], 0.0
    for rep in range(max(1, reps // 2)):
        torch.manual_seed(42 + rep)
        model = w2_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        train_epoch(model, optimizer, loss_fn, x[:128], y[:128], 128)  # warm-up
        times.append(timed(lambda: train_epoch(model, optimizer, loss_fn, x, y, 128)))
        if rep == 0:
            accuracy = accuracy_of(model, xt, yt)
    report("W2", "train samples/s", 60000 / statistics.median(times), "samples/s", "higher", accuracy)
    parameters = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    report("W2", "achieved GFLOP/s", 6 * parameters * 60000 / statistics.median(times) / 1e9, "GFLOP/s", "higher")


def run_w2i(reps):
    x, y, xt, yt = fashion()
    torch.manual_seed(42)
    model = w2_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, optimizer, nn.CrossEntropyLoss(), x[:6400], y[:6400], 128)
    model.eval()
    one = xt[:1]
    with torch.no_grad():
        for _ in range(200):
            model(one).softmax(1)
        latencies = [timed(lambda: model(one).softmax(1)) for _ in range(2000)]
        report("W2i", "batch-1 predict", statistics.median(latencies) * 1e6, "us", "lower")
        batch = [timed(lambda: model(xt).softmax(1)) for _ in range(reps + 1)][1:]
    report("W2i", "batch-10000 predict", statistics.median(batch) * 1e3, "ms", "lower")


def run_w3(reps):
    x, y, xt, yt = fashion()
    x, y = x[:10000], y[:10000]
    times = []
    for rep in range(max(1, reps // 2)):
        torch.manual_seed(42 + rep)
        model = w3_model()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        train_epoch(model, optimizer, loss_fn, x[:128], y[:128], 128)  # warm-up
        times.append(timed(lambda: train_epoch(model, optimizer, loss_fn, x, y, 128)))
    report("W3", "train samples/s", 10000 / statistics.median(times), "samples/s", "higher")


def run_w3_accuracy(reps):
    x, y, xt, yt = fashion()
    torch.manual_seed(42)
    model = w3_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_epoch(model, optimizer, nn.CrossEntropyLoss(), x, y, 128)
    accuracy = accuracy_of(model, xt, yt)
    report("W3", "test accuracy after 1 epoch", accuracy, "", "higher", accuracy)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = {"w1": run_w1, "w1i": run_w1i, "w2": run_w2, "w2i": run_w2i, "w3": run_w3,
            "w3-accuracy": run_w3_accuracy}
    if args.workload not in runs:
        sys.exit(f"torch_bench: unknown workload {args.workload}")
    runs[args.workload](args.reps)


if __name__ == "__main__":
    main()
