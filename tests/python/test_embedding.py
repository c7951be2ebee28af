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


def test_embedding_space_attack_moves_vectors_and_reports_real_tokens():
    """attacks.embedding_robustness_curve on a detector of the id 5: ε = 0 is the clean
    accuracy with no token changed; accuracy on the moved vectors falls as ε grows; a model
    without an Embedding is refused naming it."""
    from citadel import attacks
    rng = np.random.default_rng(0)
    ids = rng.integers(2, 12, size=(200, 6))
    ids[ids == 5] = 6
    y = np.arange(200) % 2
    ids[y == 1, rng.integers(0, 6, size=100)] = 5
    ids[:, 4:][rng.random((200, 2)) < 0.5] = 0  # some padding at the end
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6,), dtype="int32")
    h = layers.GlobalMaxPooling1D()(layers.Embedding(12, 8, mask_zero=True, name="words")(inputs))
    model = keras.Model(inputs, layers.Dense(2, activation="softmax")(h))
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.Adam(0.05))
    model.fit(ids, y, epochs=30, verbose=0)
    clean = float((model.predict(ids, verbose=0).argmax(1) == y).mean())
    assert clean > 0.9
    curve = attacks.embedding_robustness_curve(model, ids, y, [0, 0.5, 2], norm="l2", steps=10)
    assert [p["epsilon"] for p in curve] == [0, 0.5, 2]
    assert curve[0]["accuracy"] == pytest.approx(clean) and curve[0]["projected_accuracy"] == pytest.approx(clean)
    assert curve[0]["tokens_changed"] == 0 and curve[0]["tokens"] == int((ids != 0).sum())
    assert curve[2]["accuracy"] < clean - 0.3
    assert curve[2]["radius"] == pytest.approx(2 * curve[0]["scale"])
    dense = keras.Sequential([keras.Input((6,)), layers.Dense(2, activation="softmax")], name="plain")
    dense.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    with pytest.raises(ValueError, match="the model 'plain' has no Embedding layer"):
        attacks.embedding_robustness_curve(dense, ids.astype(np.float32), y, [0.1])
