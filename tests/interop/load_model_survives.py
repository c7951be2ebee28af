"""A Python session loading Keras files that crash or hang libhdf5 (issue 29, item 1) and
decompression bombs gets an exception naming each file, and lives on to load a good one:
citadel.keras.models.load_model reads HDF5 only in a sandboxed child process.

  python3 load_model_survives.py   (PYTHONPATH: the build's python folder)
Writes the files with keras_files.py into a temporary folder; exits 0 when every case
holds, printing each refusal.
"""
import json
import os
import resource
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_files  # noqa: E402
from citadel.keras.models import load_model  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as directory:
        keras_files.write_all(directory)
        check(directory)


def check(directory):
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    cases = [entry for entry in manifest["hostile"] if not entry.get("config")
             and ("HDF5 reader" in entry["error"] or "bomb" in entry["file"] or "chunk" in entry["file"])]
    assert len(cases) >= 5, cases
    for entry in cases:
        path = os.path.join(directory, entry["file"])
        try:
            load_model(path)
        except OSError as error:  # citadel's IoError
            message = str(error)
            assert entry["error"] in message and entry["file"] in message, (entry, message)
            print(f"refused: {message[:160]}")
        else:
            raise AssertionError(f"{entry['file']} was loaded")
    # The session is whole: a good file still loads and predicts.
    model = load_model(os.path.join(directory, "dense.keras"))
    prediction = model.predict(np.asarray(manifest["good"][0]["x"], dtype=np.float32), verbose=0)
    assert len(prediction) == len(manifest["good"][0]["y"])
    # Nothing was inflated in this process: its peak stays far below the 1 GiB chunk bomb.
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mb < 400, peak_mb
    print(f"the session survived {len(cases)} hostile files; peak {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
