#!/usr/bin/python3
"""PyTorch's side of the benchmark workloads (../shared/BENCHMARKS.md): the twin of
bench/citadel_bench.cpp, printing the same JSON lines. Run with Debian's python3 and
python3-torch (bench/setup installs them).

    torch_bench.py WORKLOAD [--threads N] [--reps R] [--width W] [--batch B] [--rows N] [--predict-all 0|1]
    WORKLOAD: w1 w1i w2 w2i w3 w3-accuracy w7 w8 w9 sweep
"""
import argparse
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

from bench_rows import FASHION, mlp_training_flops, read_idx, report, timed


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


def mlp_model(width):  # W2's MLP with its hidden layers width and width / 2 wide
    return nn.Sequential(nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width // 2), nn.ReLU(),
                         nn.Linear(width // 2, 10))


def w2_model():
    return mlp_model(256)


def w3_model():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))


class W7(nn.Module):
    """examples/fashion_resnet.cpp's network: a stem, two residual blocks with batch norm (the
    second widening with a 1x1 projection on its skip path), global average pooling."""

    @staticmethod
    def conv_bn(cin, cout, kernel):
        return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout))

    def __init__(self):
        super().__init__()
        self.stem = self.conv_bn(1, 32, 3)
        self.block1 = nn.ModuleList([self.conv_bn(32, 32, 3), self.conv_bn(32, 32, 3)])
        self.block2 = nn.ModuleList([self.conv_bn(32, 64, 3), self.conv_bn(64, 64, 3)])
        self.project = self.conv_bn(32, 64, 1)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(nn.functional.relu(self.stem(x)), 2)
        y = self.block1[1](nn.functional.relu(self.block1[0](x)))
        x = nn.functional.max_pool2d(nn.functional.relu(y + x), 2)
        y = self.block2[1](nn.functional.relu(self.block2[0](x)))
        x = nn.functional.relu(y + self.project(x))
        return self.head(x.mean(dim=(2, 3)))


def run_w7(reps):
    x, y, xt, yt = fashion()
    x, y = x[:10000], y[:10000]
    times = []
    for rep in range(max(1, reps // 2)):
        torch.manual_seed(42 + rep)
        model = W7()
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
        loss_fn = nn.CrossEntropyLoss()
        train_epoch(model, optimizer, loss_fn, x[:128], y[:128], 128)  # warm-up
        times.append(timed(lambda: train_epoch(model, optimizer, loss_fn, x, y, 128)))
    report("W7", "train samples/s", 10000 / statistics.median(times), "samples/s", "higher")


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
    report("W2", "achieved GFLOP/s", mlp_training_flops(256) * 60000 / statistics.median(times) / 1e9, "GFLOP/s",
           "higher")


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


W8_VOCABULARY, W8_LENGTH, W8_BATCH = 20000, 200, 64


class W8(nn.Module):
    """Embedding(20000, 128) -> LSTM(128) | GRU(128) | bidirectional LSTM(64) -> Linear(1) -> sigmoid,
    as citadel_bench's W8. PyTorch's fastest plain use: the whole padded sequence through the
    cuDNN-style fused layer (no packing: packing is slower on the CPU), the last step's state."""

    def __init__(self, cell):
        super().__init__()
        self.embedding = nn.Embedding(W8_VOCABULARY, 128, padding_idx=0)
        if cell == "lstm":
            self.rnn = nn.LSTM(128, 128, batch_first=True)
        elif cell == "gru":
            self.rnn = nn.GRU(128, 128, batch_first=True)
        else:
            self.rnn = nn.LSTM(128, 64, batch_first=True, bidirectional=True)
        self.head = nn.Linear(128, 1)

    def forward(self, ids):
        _, state = self.rnn(self.embedding(ids))
        h = state[0] if isinstance(state, tuple) else state  # (directions, N, units)
        return torch.sigmoid(self.head(torch.cat(list(h), dim=1)))


def w8_data(rows):
    """Random ids over 1..19999, each row padded at its end from a length of 100 to 200."""
    rng = np.random.default_rng(8)
    x = np.zeros((rows, W8_LENGTH), dtype=np.int64)
    for r in range(rows):
        length = rng.integers(100, W8_LENGTH + 1)
        x[r, :length] = rng.integers(1, W8_VOCABULARY, length)
    return torch.from_numpy(x), torch.from_numpy(rng.integers(0, 2, (rows, 1)).astype(np.float32))


def time_sequence_model(model, workload, prefix, reps):
    """An epoch over W8's 640 rows (samples/s) and the one-sequence latency (ms), as
    citadel_bench's time_sequence_model."""
    rows = 10 * W8_BATCH
    x, y = w8_data(rows)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()
    train_epoch(model, optimizer, loss_fn, x[:W8_BATCH], y[:W8_BATCH], W8_BATCH)  # warm-up
    times = [timed(lambda: train_epoch(model, optimizer, loss_fn, x, y, W8_BATCH, shuffle=False))
             for _ in range(max(1, reps // 2))]
    report(workload, f"{prefix}train samples/s", rows / statistics.median(times), "samples/s", "higher")
    model.eval()
    one = x[:1]
    with torch.no_grad():
        for _ in range(20):
            model(one)
        latencies = [timed(lambda: model(one)) for _ in range(200)]
    report(workload, f"{prefix}1-sequence predict", statistics.median(latencies) * 1e3, "ms", "lower")


def run_w8(reps):
    for cell in ("lstm", "gru", "bilstm"):
        torch.manual_seed(42)
        time_sequence_model(W8(cell), "W8", f"{cell} ", reps)


class W9(nn.Module):
    """citadel_bench's W9: Embedding(20000, 128) -> nn.TransformerEncoder of 2 post-norm layers
    (4 heads, feed-forward 256, ReLU, no dropout) with the padding mask -> masked mean -> Linear(1)
    -> sigmoid."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(W8_VOCABULARY, 128, padding_idx=0)
        layer = nn.TransformerEncoderLayer(128, 4, dim_feedforward=256, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(128, 1)

    def forward(self, ids):
        padding = ids == 0
        x = self.encoder(self.embedding(ids), src_key_padding_mask=padding)
        kept = (~padding).unsqueeze(2).float()
        return torch.sigmoid(self.head((x * kept).sum(1) / kept.sum(1).clamp(min=1)))


def run_w9(reps):
    torch.manual_seed(42)
    time_sequence_model(W9(), "W9", "", reps)


def run_sweep(width, batch, rows, predict_all):
    """One point of bench/compare --sweep, as citadel_bench's: one epoch over `rows` rows
    (the training images repeated past 60,000) in batches of `batch`, then the latency of
    predicting `batch` test rows at once."""
    x, y, xt, yt = fashion()
    order = torch.arange(rows) % len(x)
    x, y = x[order], y[order]
    torch.manual_seed(42)
    model = mlp_model(width)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    warm = min(batch, rows)
    train_epoch(model, optimizer, loss_fn, x[:warm], y[:warm], warm)
    train = timed(lambda: train_epoch(model, optimizer, loss_fn, x, y, batch))
    report("SWEEP", "train samples/s", rows / train, "samples/s", "higher")
    report("SWEEP", "train one epoch", train, "s", "lower")
    model.eval()
    queries = xt[:batch]
    latencies = []
    with torch.no_grad():
        for _ in range(5):
            model(queries).softmax(1)
        until = time.perf_counter() + 0.4
        while len(latencies) < 5 or (len(latencies) < 2000 and time.perf_counter() < until):
            latencies.append(timed(lambda: model(queries).softmax(1)))
    report("SWEEP", "predict latency", statistics.median(latencies) * 1e6, "us", "lower")
    if predict_all:
        with torch.no_grad():
            report("SWEEP", "predict all rows",
                   timed(lambda: [model(x[i:i + 1024]).softmax(1) for i in range(0, rows, 1024)]), "s", "lower")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--predict-all", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # Denormals flushed to zero, as citadel (and TensorFlow) compute by default: PyTorch's
    # default keeps them, and W8's gradients fading through 200 steps are full of them
    # (its LSTM trained 15x slower here without this; docs/PERFORMANCE.md, "W8 and W9").
    torch.set_flush_denormal(True)
    runs = {"w1": run_w1, "w1i": run_w1i, "w2": run_w2, "w2i": run_w2i, "w3": run_w3,
            "w3-accuracy": run_w3_accuracy, "w7": run_w7, "w8": run_w8, "w9": run_w9}
    if args.workload == "sweep":
        return run_sweep(args.width, args.batch, args.rows, args.predict_all)
    if args.workload not in runs:
        sys.exit(f"torch_bench: unknown workload {args.workload}")
    runs[args.workload](args.reps)


if __name__ == "__main__":
    main()
