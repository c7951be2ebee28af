"""What the Python twins of bench/citadel_bench.cpp share: the JSON line each figure is
printed as, a timer, Fashion-MNIST's IDX files, and W2's FLOP count."""
import gzip
import json
import struct
import time

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def report(workload, metric, value, unit, better, accuracy=None):
    row = {"workload": workload, "metric": metric, "value": value, "unit": unit, "better": better}
    if accuracy is not None:
        row["accuracy"] = round(float(accuracy), 4)
    print(json.dumps(row), flush=True)


def timed(work):
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mlp_training_flops(width):
    """The matrix products' FLOPs of one training sample through W2's MLP `width` wide
    (bench/workload_models.hpp's count: no input gradient for the first layer)."""
    first, rest = 784 * width, width * (width // 2) + (width // 2) * 10
    return 2 * (3 * first - first) + 2 * 3 * rest
