"""citadel's side of scripts/check_interop (Debian's python3, build/python): imports each
Keras file, predicts, exports to .keras and .onnx, and (compare) prints the agreement table."""
import glob
import os
import sys

import numpy as np

from citadel import keras


def run(directory):
    for path in sorted(glob.glob(os.path.join(directory, "*.x.npy"))):
        name = os.path.basename(path)[:-len(".x.npy")]
        x = np.load(path)
        for source in (f"{name}.keras", f"{name}.h5"):
            model = keras.load_model(os.path.join(directory, source))
            np.save(os.path.join(directory, f"{source}.citadel.npy"), model.predict(x, verbose=0))
        # Keras's habit for weights alone: the architecture from to_json(), then load_weights.
        with open(os.path.join(directory, f"{name}.json")) as f:
            rebuilt = keras.models.model_from_json(f.read())
        rebuilt.load_weights(os.path.join(directory, f"{name}.weights.h5"))
        np.save(os.path.join(directory, f"{name}.weights.h5.citadel.npy"), rebuilt.predict(x, verbose=0))
        model = keras.load_model(os.path.join(directory, f"{name}.keras"))
        model.save(os.path.join(directory, f"{name}.citadel.keras"))
        model.export(os.path.join(directory, f"{name}.onnx"))
        print(name, "imported and exported by citadel")


def compare(directory):
    worst = 0.0
    print(f"{'model':14} {'keras→citadel':>14} {'h5→citadel':>12} {'weights.h5→citadel':>19} "
          f"{'citadel→onnxruntime':>20} {'citadel→keras':>14}")
    for path in sorted(glob.glob(os.path.join(directory, "*.x.npy"))):
        name = os.path.basename(path)[:-len(".x.npy")]
        load = lambda suffix: np.load(os.path.join(directory, name + suffix))  # noqa: E731
        keras_y, citadel_y = load(".keras.npy"), load(".keras.citadel.npy")
        row = [np.abs(citadel_y - keras_y).max(), np.abs(load(".h5.citadel.npy") - keras_y).max(),
               np.abs(load(".weights.h5.citadel.npy") - keras_y).max(),
               np.abs(load(".onnxruntime.npy") - citadel_y).max(), np.abs(load(".reloaded.npy") - citadel_y).max()]
        worst = max(worst, *row)
        print(f"{name:14} " + " ".join(f"{v:>{w}.2e}" for v, w in zip(row, (14, 12, 19, 20, 14))))
    print(f"largest difference {worst:.2e} (the bar: 1e-5)")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[2]) if sys.argv[1] == "run" else compare(sys.argv[2]))
