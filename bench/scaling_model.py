#!/usr/bin/env python3
"""The ring all-reduce cost model of docs/SCALING.md, extrapolated to clusters.

    t_allreduce(N, bytes) = 2(N-1)·alpha + 2(N-1)/N · bytes / bandwidth
    step time (no overlap) = compute(batch per node) + t_allreduce

Reads citadel's measured one-rank throughputs (samples/s at one thread) from the
arguments and prints, for W2, W3 and a 100M-parameter model, the step time and the
efficiency (compute / step) on 8-256 nodes at 10 and 100 Gbit/s, for a per-node batch of
128 (weak scaling: the global batch grows with the nodes) and for a global batch of 1024
(strong scaling). Usage: scaling_model.py W2_SAMPLES_PER_S W3_SAMPLES_PER_S [ALPHA_US]
"""
import sys

w2_rate, w3_rate = float(sys.argv[1]), float(sys.argv[2])
alpha = (float(sys.argv[3]) if len(sys.argv) > 3 else 5.0) * 1e-6
# Parameters; a 100M-parameter model is taken at 6 FLOPs per parameter per sample and a
# node sustaining 1 TFLOP/s (a two-socket AVX-512 server), i.e. 1667 samples/s.
models = {
    "W2 (235k parameters)": (235146, w2_rate),
    "W3 (225k parameters)": (225034, w3_rate),
    "100M parameters": (100e6, 1e12 / (6 * 100e6)),
}


def allreduce(nodes, size_bytes, bandwidth):
    return 2 * (nodes - 1) * alpha + 2 * (nodes - 1) / nodes * size_bytes / bandwidth


print("| model | nodes | link | weak: step ms (eff.) | strong, batch 1024: step ms (eff.) |")
print("| --- | --- | --- | --- | --- |")
for name, (parameters, rate) in models.items():
    for gbit in (10, 100):
        bandwidth = gbit * 1e9 / 8
        for nodes in (8, 32, 256):
            comm = allreduce(nodes, 4 * parameters, bandwidth)
            weak = 128 / rate
            strong = max(1024 / nodes, 1) / rate
            print("| %s | %d | %d Gbit/s | %.2f (%.0f %%) | %.2f (%.0f %%) |" % (
                name, nodes, gbit, 1e3 * (weak + comm), 100 * weak / (weak + comm),
                1e3 * (strong + comm), 100 * strong / (strong + comm)))
