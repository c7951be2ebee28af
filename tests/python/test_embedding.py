"""Embedding and integer inputs in citadel.keras: Keras 3's names and defaults, int numpy
arrays of token ids accepted (float arrays of non-integers refused naming the input), the
gather and the masked mean checked against numpy from get_weights(), hostile ids refused
naming the layer, and the int dtype kept through .safetensors and .keras files."""
import numpy as np
import pytest

from citadel import keras
from citadel.keras import layers


def text_model(dtype="int32", mask_zero=True):
    ids = keras.Input((6,), dtype=dtype, name="ids")
    h = layers.GlobalAveragePooling1D()(layers.Embedding(12, 4, mask_zero=mask_zero, name="words")(ids))
    model = keras.Model(ids, layers.Dense(2, activation="softmax", name="out")(h))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


IDS = np.array([[3, 7, 7, 0, 0, 0], [0, 0, 0, 3, 7, 7], [11, 1, 2, 0, 5, 0]], np.int64)


def expected_output(model, ids):
    table, kernel, bias = model.get_weights()
    logits = []
    for row in ids:
        kept = row[row != 0]
        logits.append(table[kept].mean(0) @ kernel + bias)
    logits = np.array(logits)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_int_arrays_predict_the_masked_mean_of_the_rows():
    model = text_model()
    assert model.get_weights()[0].shape == (12, 4)
    for dtype in (np.int32, np.int64, np.uint8):
        np.testing.assert_allclose(model.predict(IDS.astype(dtype), verbose=0), expected_output(model, IDS),
                                   atol=1e-6)
    # Left- and right-padded rows (0 and 1) give the same answer.
    out = model.predict(IDS, verbose=0)
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    # Floats holding whole numbers are ids too.
    np.testing.assert_array_equal(model.predict(IDS.astype(np.float32), verbose=0), out)
    model.fit(IDS, np.array([0, 0, 1]), epochs=2, verbose=0)


def test_non_integers_and_hostile_ids_are_refused_clearly():
    model = text_model()
    fractional = IDS.astype(np.float32)
    fractional[2, 4] = 2.5
    with pytest.raises(ValueError, match=r"the input is int32 \(token ids\), but element \(2, 4\) is 2.5"):
        model.predict(fractional, verbose=0)
    huge = IDS.copy()
    huge[1, 0] = 2 ** 40
    with pytest.raises(ValueError, match=r"element \(1, 0\) is 1099511627776; ids must be at most 2\^24"):
        model.predict(huge, verbose=0)
    for bad, says in ((12, "id 12 at \\[example 0, position 5\\] is out of range"),
                      (-3, "id -3 at \\[example 0, position 5\\] is out of range")):
        hostile = IDS.copy()
        hostile[0, 5] = bad
        with pytest.raises(ValueError, match="words \\(Embedding\\): " + says):
            model.predict(hostile, verbose=0)
    with pytest.raises(TypeError, match="token ids"):
        model.predict(np.array([["a"] * 6]), verbose=0)


def test_keras_names_defaults_and_settings():
    layer = layers.Embedding(100, 8, input_length=20)  # Keras 2's input_length: accepted, ignored
    config = layer.get_config()
    assert config["input_dim"] == 100 and config["output_dim"] == 8 and "input_length" not in config
    assert config["embeddings_initializer"] == "uniform"
    for bad in ({"sparse": True}, {"embeddings_constraint": "non_neg"}, {"lora_rank": 2}):
        with pytest.raises(ValueError):
            layers.Embedding(10, 2, **bad)
    with pytest.raises(ValueError, match="dtype='string' is not supported"):
        keras.Input((3,), dtype="string")
    model = keras.Sequential([keras.Input((5,), dtype="int32"), layers.Embedding(10, 3),
                              layers.GlobalAveragePooling1D(), layers.Dense(1)])
    table = model.get_weights()[0]
    assert table.shape == (10, 3) and np.abs(table).max() <= 0.05 and np.abs(table).max() > 0.04


@pytest.mark.parametrize("suffix", [".safetensors", ".keras"])
def test_the_int_dtype_survives_files(tmp_path, suffix):
    model = text_model(dtype="int64")
    model.fit(IDS, np.array([0, 1, 1]), epochs=1, verbose=0)
    path = str(tmp_path / ("text" + suffix))
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(IDS, verbose=0), model.predict(IDS, verbose=0))
    assert loaded._model().input_dtypes == ["int64"] and loaded._input_dtypes() == ["int64"]
    fractional = IDS.astype(np.float64)
    fractional[0, 0] = 0.25
    with pytest.raises(ValueError, match="int64 \\(token ids\\)"):
        loaded.predict(fractional, verbose=0)
