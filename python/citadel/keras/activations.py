"""Activation names, and functions named as Keras's so that activation=activations.relu works
(citadel computes them itself; calling them from Python is not supported)."""

_NAMES = ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "swish",
          "gelu", "leaky_relu", "relu6", "hard_sigmoid", "exponential", "silu", "mish"]


def _named(name):
    def activation(x):
        raise NotImplementedError(f"citadel.keras.activations.{name} is applied inside citadel's layers; "
                                  "pass it as activation= to a layer")
    activation.__name__ = name
    return activation


for _name in _NAMES:
    globals()[_name] = _named(_name)


def serialize(activation):
    """The name citadel's layers read: a string as given, else the function's __name__."""
    if activation is None or isinstance(activation, str):
        return activation
    name = getattr(activation, "__name__", None)
    if not name:
        raise TypeError(f"activation: expected a name or a function of citadel.keras.activations, got {activation!r}")
    return name


def get(identifier):
    return serialize(identifier)
