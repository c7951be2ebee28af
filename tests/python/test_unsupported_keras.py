"""Keras 3 API that citadel.keras does not have yet: every public name of Keras 3's
keras.models, layers, losses, optimizers, metrics and callbacks that citadel lacks raises an
error saying so and pointing at docs/PYTHON.md (the names come from a real Keras 3:
scripts/keras_names.py), and calling a layer on a tensor says the Functional API is missing."""
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
    with pytest.raises(ImportError, match=r"citadel does not support keras\.models\.Model yet: the Functional API"):
        from citadel.keras.models import Model  # noqa: F401
    with pytest.raises(ImportError, match=r"citadel does not support keras\.layers\.Embedding yet"):
        from citadel.keras.layers import Embedding  # noqa: F401
    from citadel.keras import layers
    with pytest.raises(NotImplementedError, match=r"keras\.layers\.LSTM"):
        layers.LSTM(8)
    import citadel.keras as keras
    with pytest.raises(NotImplementedError, match=r"keras\.Model"):
        keras.Model


def test_an_except_import_error_fallback_still_works():
    try:
        from citadel.keras.layers import GRU  # noqa: F401
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


def test_calling_a_layer_on_a_tensor_says_the_functional_api_is_not_supported():
    from citadel.keras import Input
    from citadel.keras.layers import Dense
    inputs = Input(shape=(8,))
    with pytest.raises(NotImplementedError, match=r"calling a layer on a tensor \(Dense\(\.\.\.\)\(x\): the Functional API\)"):
        Dense(1)(inputs)
    with pytest.raises(UnsupportedKerasFeature, match="Sequential"):
        Dense(1)(np.zeros((2, 8)))
