"""Keras names that citadel.keras does not have yet. Asking one of its modules for a name
that Keras 3 has there (`from citadel.keras.layers import Embedding`, `layers.LSTM`) raises
UnsupportedKerasFeature, which says so and points at docs/PYTHON.md's list, instead of
Python's bare "cannot import name". The Keras names are in _keras_names.py, written from a
real Keras 3 by scripts/keras_names.py."""
from citadel.keras._keras_names import KERAS_VERSION, NAMES

_DOCS = 'docs/PYTHON.md ("The API") lists what citadel.keras has'

# Names whose absence has a reason worth more than "not yet".
_WHY = {
    "Functional": "keras.Model(inputs, outputs) makes Functional models",
}


class UnsupportedKerasFeature(NotImplementedError, ImportError):
    """A Keras 3 name or feature citadel.keras does not support yet. An ImportError (so that
    `from citadel.keras.layers import X` fails as a missing name does, and `except ImportError`
    fallbacks work) and a NotImplementedError (as citadel's other unsupported settings)."""


def unsupported_name_message(namespace, name):
    why = _WHY.get(name)
    return (f"citadel does not support {namespace}.{name} yet" + (f": {why}" if why else "") +
            f" (Keras {KERAS_VERSION} has it; {_DOCS})")


def module_getattr(namespace):
    """A module-level __getattr__ for citadel.<namespace>: Keras's names it lacks raise
    UnsupportedKerasFeature, any other name the usual AttributeError."""
    keras_names = frozenset(NAMES[namespace])

    def __getattr__(name):
        if name in keras_names:
            raise UnsupportedKerasFeature(unsupported_name_message(namespace, name))
        raise AttributeError(f"module 'citadel.{namespace}' has no attribute {name!r}")

    return __getattr__


def eager_call(layer_class):
    """What calling a layer on arrays (Keras's eager call) raises: citadel computes models,
    not single layers."""
    return UnsupportedKerasFeature(
        f"citadel does not support calling a layer on arrays ({layer_class}(...)(array), an eager call) yet; call it "
        f"on symbolic tensors (x = keras.Input(shape); y = {layer_class}(...)(x)), make a keras.Model(x, y) and "
        f"predict() with it ({_DOCS})")


def subclassed_model(class_name):
    """What instantiating a subclassed model (class M(keras.Model) with call()) raises."""
    return UnsupportedKerasFeature(
        f"citadel does not support subclassed models ({class_name} subclasses keras.Model and defines call(), which "
        "is Python code that citadel does not run); build the same model with the functional API "
        "(x = keras.Input(shape); y = layers.Dense(...)(x); model = keras.Model(x, y)) or as a keras.Sequential "
        f"({_DOCS})")
