"""Shared fixtures of the Python package's tests (run by CTest: tests/CMakeLists.txt sets
PYTHONPATH to build/python and names the citadel tool and the data)."""
import os
import subprocess

import numpy as np
import pytest

import citadel


@pytest.fixture(autouse=True)
def _seed():
    citadel.set_seed(7)
    np.random.seed(7)


@pytest.fixture
def cli():
    binary = os.environ.get("CITADEL_BINARY")
    if not binary or not os.path.exists(binary):
        pytest.skip("the citadel tool is not built (CITADEL_BINARY)")

    def run(*arguments, check=True):
        result = subprocess.run([binary, *map(str, arguments)], capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"citadel {' '.join(map(str, arguments))} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result
    return run


@pytest.fixture
def pima_csv():
    return os.environ["CITADEL_PIMA_CSV"]


def separable(rows=400, features=4, seed=0):
    """Rows whose label is whether the first two features sum above 1 (learnable)."""
    generator = np.random.default_rng(seed)
    x = generator.random((rows, features)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 1.0).astype(np.float32).reshape(-1, 1)
    return x, y
