"""Losses by Keras's names, or as objects with settings (from_logits, delta)."""


class Loss:
    def __init__(self, **config):
        self._config = config

    def get_config(self):
        return dict(self._config)

    def _serialize(self):
        return {"class_name": type(self).__name__, "config": self.get_config()}


class MeanSquaredError(Loss):
    def __init__(self):
        super().__init__()


class MeanAbsoluteError(Loss):
    def __init__(self):
        super().__init__()


class Huber(Loss):
    def __init__(self, delta=1.0):
        super().__init__(delta=float(delta))


class BinaryCrossentropy(Loss):
    def __init__(self, from_logits=False):
        super().__init__(from_logits=bool(from_logits))


class CategoricalCrossentropy(Loss):
    def __init__(self, from_logits=False):
        super().__init__(from_logits=bool(from_logits))


class SparseCategoricalCrossentropy(Loss):
    def __init__(self, from_logits=False):
        super().__init__(from_logits=bool(from_logits))


def serialize(loss):
    """What citadel's compile takes: a name as given, or {"class_name", "config"}."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):
        return loss._serialize()
    if callable(loss):
        raise TypeError("loss: citadel computes its losses itself; a Python function is not supported. "
                        "Use a name ('binary_crossentropy', 'mse', ...) or a citadel.keras.losses object")
    raise TypeError(f"loss: expected a name or a citadel.keras.losses object, got {loss!r}")


def get(identifier):
    return identifier


# Keras 3 names this module lacks raise an error that says so (_unsupported.py).
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras.losses")
