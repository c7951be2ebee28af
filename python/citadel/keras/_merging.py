"""Merge layers (keras.layers.Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot) and their functional forms (keras.layers.add([a, b]), ...): layers called
on a list of symbolic tensors, computed by citadel's merge layers."""
from citadel.keras.layers import Layer


class _Merge(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)


class Add(_Merge):
    pass


class Subtract(_Merge):
    pass


class Multiply(_Merge):
    pass


class Average(_Merge):
    pass


class Maximum(_Merge):
    pass


class Minimum(_Merge):
    pass


class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(axis=int(axis), **kwargs)
        self.axis = int(axis)


class Dot(_Merge):
    """axes: one axis for both inputs or a pair (counted with the batch axis, as Keras);
    normalize=True: the cosine similarity."""

    def __init__(self, axes, normalize=False, **kwargs):
        pair = [int(axes), int(axes)] if isinstance(axes, int) else [int(a) for a in axes]
        if len(pair) != 2:
            raise ValueError(f"Dot: axes must be one integer or a pair, got {axes!r}")
        super().__init__(axes=pair, normalize=bool(normalize), **kwargs)
        self.axes, self.normalize = axes, bool(normalize)


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
