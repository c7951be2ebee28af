#!/usr/bin/python3
"""Which BLAS PyTorch really runs here, and how fast: Debian's PyTorch uses whatever
libblas.so.3 is installed, and silently falls back to the reference (netlib) BLAS when no
optimized one is. Prints one JSON object: torch's version, the BLAS threadpoolctl finds
(library, version, kernel), and a timed 1024³ float32 torch.mm on one thread."""
import json
import re
import time

import torch

info = {"torch": torch.__version__, "blas": "unknown", "version": None, "kernel": None, "library": None}
try:
    from threadpoolctl import threadpool_info
    for entry in threadpool_info():
        if entry.get("user_api") == "blas":
            info.update(blas=entry.get("internal_api"), version=entry.get("version"),
                        kernel=entry.get("architecture"), library=entry.get("filepath"))
            break
    else:
        info["blas"] = "none found (the reference BLAS is not reported by threadpoolctl)"
except ImportError:
    info["blas"] = "unknown (python3-threadpoolctl is not installed)"
if info["blas"] not in ("openblas", "mkl", "blis"):
    # PyPI's PyTorch links its own MKL statically: its build settings say so.
    found = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    if found and found.group(1) in ("mkl", "openblas", "blis"):
        info.update(blas=found.group(1), library="linked into torch (its BLAS_INFO)")
torch.set_num_threads(1)
a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
torch.mm(a, b)
times = []
for _ in range(5):
    start = time.perf_counter()
    torch.mm(a, b)
    times.append(time.perf_counter() - start)
info["mm_1024_gflops"] = round(2 * 1024 ** 3 / min(times) / 1e9, 1)
# An optimized BLAS reaches tens of GFLOP/s on one core; the reference one a few.
info["optimized"] = info["blas"] in ("openblas", "mkl", "blis") and info["mm_1024_gflops"] > 20
print(json.dumps(info))
