"""Optimizers with Keras's names, arguments and defaults. Once the model is compiled,
learning_rate reads and sets the rate the model trains with (what schedulers change)."""


class Optimizer:
    _defaults = {}

    def __init__(self, **config):
        unknown = set(config) - set(self._defaults) - {"clipnorm", "global_clipnorm", "clipvalue", "name"}
        for key in ("weight_decay", "use_ema", "ema_momentum", "ema_overwrite_frequency", "amsgrad", "jit_compile",
                    "loss_scale_factor", "gradient_accumulation_steps"):
            if key in unknown and config[key] in (None, False, 0.99, 100):
                unknown.discard(key)
                config.pop(key)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unsupported arguments {sorted(unknown)}")
        if config.get("clipnorm") and config.get("global_clipnorm"):
            raise ValueError(f"{type(self).__name__}: clipnorm and global_clipnorm exclude each other")
        self._config = dict(self._defaults)
        self._config.update({k: v for k, v in config.items() if v is not None and k != "name"})
        self.name = config.get("name") or type(self).__name__.lower()
        self._model = None  # the native model once compiled

    @property
    def learning_rate(self):
        if self._model is not None:
            return float(self._model.learning_rate)
        return float(self._config["learning_rate"])

    @learning_rate.setter
    def learning_rate(self, value):
        self._config["learning_rate"] = float(value)
        if self._model is not None:
            self._model.learning_rate = float(value)

    lr = learning_rate

    @property
    def iterations(self):
        return None

    def get_config(self):
        config = {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                  for k, v in self._config.items()}
        config["learning_rate"] = self.learning_rate
        return config

    def _serialize(self):
        return {"class_name": type(self).__name__, "config": self.get_config()}


class SGD(Optimizer):
    _defaults = {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)


class Adam(Optimizer):
    _defaults = {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)


class AdamW(Optimizer):
    _defaults = {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self._config["weight_decay"] = float(weight_decay)


class RMSprop(Optimizer):
    _defaults = {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum, epsilon=epsilon,
                         centered=centered, **kwargs)


class Adagrad(Optimizer):
    _defaults = {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, initial_accumulator_value=initial_accumulator_value,
                         epsilon=epsilon, **kwargs)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from a name ('adam') or an optimizer object (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        try:
            return _BY_NAME[identifier.lower()]()
        except KeyError:
            raise ValueError(f"unknown optimizer '{identifier}'; known: {', '.join(_BY_NAME)}") from None
    raise TypeError(f"optimizer: expected a name or a citadel.keras.optimizers object, got {identifier!r}")


# Keras 3 names this module lacks raise an error that says so (_unsupported.py).
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras.optimizers")
