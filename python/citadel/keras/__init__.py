"""citadel.keras: the tensorflow.keras API on citadel. A Keras program runs with its
imports changed from tensorflow.keras to citadel.keras."""
from citadel.keras import (activations, callbacks, initializers, layers, losses, metrics, mixed_precision, models,
                           optimizers, regularizers, utils)
from citadel.keras._symbolic import KerasTensor
from citadel.keras.layers import Input, InputLayer, Layer
from citadel.keras.models import Model, Sequential, load_model

__all__ = ["activations", "callbacks", "initializers", "layers", "losses", "metrics", "mixed_precision", "models",
           "optimizers", "regularizers", "utils", "Input", "InputLayer", "KerasTensor", "Layer", "Model", "Sequential",
           "load_model"]

# Keras 3 names citadel.keras lacks (ops, applications, ...) raise an error that says so.
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras")
