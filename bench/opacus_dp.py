"""Opacus's side of bench/dp_utility: W2's MLP (784-256-128-10) trained with DP-SGD on
Fashion-MNIST to a target ε, as citadel's `train --dp --target-epsilon` does it: Poisson
sampling at the same rate (expected batch / 54,000 training rows, the rows citadel trains on
after its 10 % validation split), the same clip norm, Adam and learning rate, epochs and δ.
Prints one JSON line: test accuracy on the 10,000 test images, Opacus's ε, σ, wall time.

    build/venv-opacus/bin/python bench/opacus_dp.py [--epochs 20] [--batch-size 1024]
        [--learning-rate 0.002] [--clip 1] [--epsilon 3] [--delta 1e-5] [--threads 2]
        [--activation relu|tanh] [--grad-sample-mode hooks|ew]

build/venv-opacus is made by bench/setup (Debian's PyTorch 1.13 and Opacus 1.4.0 from PyPI).
"""
import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
from opacus import PrivacyEngine

DATA = Path("/usr/share/datasets/fashion-mnist")
TRAIN_ROWS = 54_000  # what citadel trains on after its validation split


def idx(name):
    with gzip.open(DATA / name, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--learning-rate", type=float, default=0.002)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--epsilon", type=float, default=3.0)
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--activation", default="relu", choices=["relu", "tanh"])
    parser.add_argument("--grad-sample-mode", default="hooks", choices=["hooks", "ew"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)

    x_train = torch.tensor(idx("train-images-idx3-ubyte.gz")[:TRAIN_ROWS].reshape(-1, 784) / 255.0,
                           dtype=torch.float32)
    y_train = torch.tensor(idx("train-labels-idx1-ubyte.gz")[:TRAIN_ROWS].astype(np.int64))
    x_test = torch.tensor(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0, dtype=torch.float32)
    y_test = torch.tensor(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    act = torch.nn.ReLU if args.activation == "relu" else torch.nn.Tanh
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), act(), torch.nn.Linear(256, 128), act(),
                                torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_train, y_train),
                                         batch_size=args.batch_size, shuffle=True)
    engine = PrivacyEngine(accountant="rdp")
    model, optimizer, loader = engine.make_private_with_epsilon(
        module=model, optimizer=optimizer, data_loader=loader, target_epsilon=args.epsilon,
        target_delta=args.delta, epochs=args.epochs, max_grad_norm=args.clip, poisson_sampling=True,
        grad_sample_mode=args.grad_sample_mode)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        for x, y in loader:
            if len(x) == 0:
                continue
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(json.dumps({"system": "Opacus " + __import__("opacus").__version__ + " (PyTorch " + torch.__version__ + ")",
                      "test_accuracy": accuracy, "epsilon": engine.get_epsilon(args.delta),
                      "noise_multiplier": optimizer.noise_multiplier, "train_seconds": seconds,
                      "threads": args.threads, "epochs": args.epochs, "batch_size": args.batch_size}))


if __name__ == "__main__":
    main()
