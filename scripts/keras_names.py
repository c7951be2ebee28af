"""Writes python/citadel/keras/_keras_names.py: the public names of Keras 3's namespaces that
citadel.keras mirrors, so that a name Keras has and citadel lacks gets an error that says so.
Run with a Keras 3 importable (scripts/compare_keras makes build/venv-keras):
    KERAS_BACKEND=jax build/venv-keras/bin/python scripts/keras_names.py > python/citadel/keras/_keras_names.py
"""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402

NAMESPACES = ["", "models", "layers", "losses", "optimizers", "metrics", "callbacks"]

print('"""The public names of Keras ' + keras.__version__ + "'s namespaces that citadel.keras mirrors, written by")
print("scripts/keras_names.py from a Keras 3 installation: the one list that citadel.keras's modules")
print('consult when asked for a name they do not have (see _unsupported.py)."""')
print()
print(f"KERAS_VERSION = {keras.__version__!r}")
print()
print("NAMES = {")
for namespace in NAMESPACES:
    module = keras if not namespace else getattr(keras, namespace)
    names = sorted(name for name in dir(module) if not name.startswith("_") and
                   not (namespace == "" and name in ("src", "version")))
    key = "keras" + ("." + namespace if namespace else "")
    print(f"    {key!r}: (")
    line = "       "
    for name in names:
        entry = f" {name!r},"
        if len(line) + len(entry) > 110:
            print(line)
            line = "       "
        line += entry
    print(line)
    print("    ),")
print("}")
