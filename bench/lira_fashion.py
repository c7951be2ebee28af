#!/usr/bin/python3
"""Issue 33's LiRA timing goal on Fashion-MNIST's W2 MLP (256:relu, 128:relu, softmax): a target
trained on MEMBERS training images, LiRA with SHADOWS shadow models (each trained as the target,
on a random half of members + non-members), and the baseline loss attack beside it; prints the
figures and the wall time. Reads Debian's dataset-fashion-mnist.

    PYTHONPATH=build/python bench/lira_fashion.py [--members 10000] [--shadows 16] [--epochs 5]
"""
import argparse
import gzip
import time

import numpy as np

from citadel import privacy
from citadel.keras import layers
from citadel.keras.models import Sequential

FOLDER = "/usr/share/datasets/fashion-mnist"


def idx(name, offset):
    with gzip.open(f"{FOLDER}/{name}", "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def w2():
    model = Sequential([layers.Dense(256, input_dim=784, activation="relu"), layers.Dense(128, activation="relu"),
                        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10000)
    parser.add_argument("--shadows", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    x = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255
    y = idx("train-labels-idx1-ubyte.gz", 8).astype(np.float32)
    n = args.members
    members_x, members_y, others_x, others_y = x[:n], y[:n], x[n:2 * n], y[n:2 * n]
    model = w2()
    model.fit(members_x, members_y, epochs=args.epochs, batch_size=128, verbose=0)
    start = time.time()
    lira = privacy.lira(model, members_x, members_y, others_x, others_y, shadows=args.shadows, epochs=args.epochs,
                        batch_size=128)
    seconds = time.time() - start
    loss = privacy.membership_audit(model, members_x, members_y, others_x, others_y, calibrated=False)
    print(f"W2 on {n} members and {n} non-members, {args.epochs} epochs; LiRA with {args.shadows} shadows: {seconds:.1f} s")
    for r in loss + lira:
        print(f"  {r['attack']:16} AUC {r['auc']:.4f}  TPR@1%FPR {r['tpr_at_1_percent_fpr']:.4f}  "
              f"TPR@0.1%FPR {r['tpr_at_0_1_percent_fpr']:.4f}  epsilon >= {r['epsilon_lower_bound']:.3g}")


if __name__ == "__main__":
    main()
