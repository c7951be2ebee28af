"""Keras 3 API that citadel.keras does not have yet: every public name of Keras 3's
keras.models, layers, losses, optimizers, metrics and callbacks that citadel lacks raises an
error saying so and pointing at docs/PYTHON.md (the names come from a real Keras 3:
scripts/keras_names.py); calling a layer on arrays (an eager call) and subclassing keras.Model
say what to use instead."""
import importlib

import numpy as np
import pytest

from citadel.keras import _keras_names
from citadel.keras._unsupported import UnsupportedKerasFeature

NAMESPACES = ["keras", "keras.models", "keras.layers", "keras.losses", "keras.optimizers", "keras.metrics",
              "keras.callbacks"]


def missing(namespace):
    module = importlib.import_module("citadel." + namespace)
    return [name for name in _keras_names.NAMES[namespace] if name not in vars(module)]


def test_the_list_is_keras_3s():
    # A few names every Keras 3 has in these namespaces, and the ones users met first.
    assert _keras_names.KERAS_VERSION.startswith("3.")
    assert {"Model", "Sequential", "load_model"} <= set(_keras_names.NAMES["keras.models"])
    assert {"Embedding", "LSTM", "Dense", "Conv2D"} <= set(_keras_names.NAMES["keras.layers"])
    assert {"Adam", "SGD", "Lion"} <= set(_keras_names.NAMES["keras.optimizers"])


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_missing_keras_name_raises_a_clear_error(namespace):
    names = missing(namespace)
    assert names, f"citadel.{namespace} has every Keras name?"
    for name in names:
        with pytest.raises(UnsupportedKerasFeature) as error:
            exec(f"from citadel.{namespace} import {name}", {})
        message = str(error.value)
        assert f"citadel does not support {namespace}.{name} yet" in message
        assert "docs/PYTHON.md" in message


def test_the_names_users_met_first():
    from citadel.keras.models import Model  # noqa: F401  (the Functional API is here now)
    from citadel.keras import Input, Model as TopLevelModel  # noqa: F401
    with pytest.raises(ImportError, match=r"citadel does not support keras\.layers\.SeparableConv2D yet"):
        from citadel.keras.layers import SeparableConv2D  # noqa: F401
    from citadel.keras import layers
    with pytest.raises(NotImplementedError, match=r"keras\.layers\.ConvLSTM1D"):
        layers.ConvLSTM1D(8, 3)
    with pytest.raises(NotImplementedError, match=r"keras\.layers\.SeparableConv2D"):
        layers.SeparableConv2D(10, 2)


def test_an_except_import_error_fallback_still_works():
    try:
        from citadel.keras.layers import ConvLSTM2D  # noqa: F401
        fell_back = False
    except ImportError:
        fell_back = True
    assert fell_back


def test_names_citadel_has_and_names_keras_lacks_are_unchanged():
    from citadel.keras.layers import Dense, MaxPool2D  # noqa: F401
    from citadel.keras.models import Sequential, load_model  # noqa: F401
    from citadel.keras import layers
    with pytest.raises(AttributeError, match="no attribute 'NoSuchLayer'"):
        layers.NoSuchLayer
    assert not hasattr(layers, "NoSuchLayer")


def test_calling_a_layer_on_arrays_says_to_call_it_on_symbolic_tensors():
    from citadel.keras.layers import Dense
    with pytest.raises(UnsupportedKerasFeature, match=r"calling a layer on arrays .*keras\.Input"):
        Dense(1)(np.zeros((2, 8)))


def test_a_subclassed_model_is_refused_with_what_to_use_instead():
    import citadel.keras as keras

    class TwoLayers(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, inputs):
            return self.dense(inputs)
    with pytest.raises(NotImplementedError, match=r"subclassed models \(TwoLayers .*functional API.*Sequential"):
        TwoLayers()

    class NoCall(keras.Model):
        pass
    with pytest.raises(NotImplementedError, match="subclassed models"):
        NoCall()


def test_a_custom_layer_is_refused_when_called():
    import citadel.keras as keras

    class Twice(keras.layers.Layer):
        def call(self, inputs):
            return 2 * inputs
    with pytest.raises(NotImplementedError, match=r"Twice defines call\(\): a custom layer is Python code"):
        Twice()(keras.Input((3,)))
