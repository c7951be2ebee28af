"""The off-line search that found the HDF5 files of tests/interop/hdf5_crashes/ (issue 29,
item 1): changes 4 to 7 bytes of a real Keras HDF5 file, mostly inside its global heap
(where variable-length string attributes live) and its object headers, runs `citadel
import` on each copy, and keeps the copies that kill it with a signal or keep it busy
past a time limit. Not a test: the tests use the files it kept.

  python3 mutate_hdf5.py CITADEL BASE.h5 OUT_DIR [TRIES] [SEED] [--config CONFIG.json]

Each kept file is OUT_DIR/<signal or hang>-<base>-<n>.h5 beside a line in OUT_DIR/found.txt
with the offsets and bytes changed.
"""
import os
import random
import signal
import subprocess
import sys
import tempfile


def regions(data):
    """Where a change is most likely to reach libhdf5's heap and header readers: each global
    heap collection (GCOL) and each object header (OHDR, or a version 1 header's area)."""
    found = []
    at = data.find(b"GCOL")
    while at >= 0:
        size = int.from_bytes(data[at + 8:at + 16], "little")
        found.append((at, min(at + max(size, 64), len(data))))
        at = data.find(b"GCOL", at + 4)
    for tag in (b"OHDR", b"TREE", b"HEAP", b"SNOD"):
        at = data.find(tag)
        while at >= 0:
            found.append((at, min(at + 256, len(data))))
            at = data.find(tag, at + 4)
    return found or [(0, len(data))]


def mutate(data, rng, spans):
    out = bytearray(data)
    start, end = rng.choice(spans)
    changes = []
    for _ in range(rng.randint(4, 7)):
        offset = rng.randrange(start, end)
        value = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        out[offset] = value
        changes.append((offset, value))
    return bytes(out), changes


def main():
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    config = sys.argv[sys.argv.index("--config") + 1] if "--config" in sys.argv else None
    if config:
        arguments.remove(config)
    citadel, base, out_dir = arguments[:3]
    tries = int(arguments[3]) if len(arguments) > 3 else 2000
    rng = random.Random(int(arguments[4]) if len(arguments) > 4 else 29)
    data = open(base, "rb").read()
    spans = regions(data)
    os.makedirs(out_dir, exist_ok=True)
    name = os.path.basename(base).split(".")[0]
    kept = 0
    with tempfile.TemporaryDirectory() as scratch:
        candidate = os.path.join(scratch, "candidate.h5")
        for attempt in range(tries):
            mutated, changes = mutate(data, rng, spans)
            with open(candidate, "wb") as f:
                f.write(mutated)
            command = [citadel, "import", candidate, "--output", os.path.join(scratch, "out.safetensors")]
            if config:
                command += ["--config", config]
            try:
                result = subprocess.run(command, capture_output=True, timeout=5)
                if result.returncode >= 0:
                    continue
                kind = signal.Signals(-result.returncode).name
            except subprocess.TimeoutExpired:
                kind = "hang"
            kept += 1
            path = os.path.join(out_dir, f"{kind.lower()}-{name}-{kept}.h5")
            with open(path, "wb") as f:
                f.write(mutated)
            with open(os.path.join(out_dir, "found.txt"), "a") as f:
                f.write(f"{os.path.basename(path)} try {attempt}: {kind}: {changes}\n")
            print(path, kind, changes, flush=True)


if __name__ == "__main__":
    main()
