"""Initializers as Keras names them; layers take them by name or as these objects."""


class Initializer:
    def __init__(self, **config):
        self._config = {k: v for k, v in config.items() if v is not None}

    def get_config(self):
        return dict(self._config)

    def _serialize(self):
        return {"class_name": type(self).__name__, "config": self.get_config()}


def _define(name):
    globals()[name] = type(name, (Initializer,), {"__doc__": f"keras.initializers.{name}"})


for _name in ["Zeros", "Ones", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
              "LecunNormal", "RandomUniform", "RandomNormal", "Constant"]:
    _define(_name)


def serialize(initializer):
    if initializer is None or isinstance(initializer, str):
        return initializer
    if isinstance(initializer, Initializer):
        return initializer._serialize()
    raise TypeError(f"initializer: expected a name or a citadel.keras.initializers object, got {initializer!r}")


def get(identifier):
    return serialize(identifier)
