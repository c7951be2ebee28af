"""citadel.keras's SimpleRNN, LSTM and GRU: predictions against numpy loops written from
Keras's equations and get_weights() (Keras's layouts: kernel (features, gates*units), gates
LSTM i, f, c, o and GRU z, r, h), masks after Masking on left- and right-padded batches, and
the arguments citadel refuses by name."""
import numpy as np
import pytest

from citadel import keras
from citadel.keras import layers


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_rnn(kind, weights, sequence, reset_after=True):
    """The last output for one unpadded sequence (steps, features)."""
    kernel, recurrent = weights[0], weights[1]
    units = recurrent.shape[0]
    h = np.zeros(units)
    c = np.zeros(units)
    for x in sequence:
        if kind == "SimpleRNN":
            h = np.tanh(x @ kernel + h @ recurrent + weights[2])
        elif kind == "LSTM":
            z = x @ kernel + h @ recurrent + weights[2]
            i, f, g, o = np.split(z, 4)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        elif reset_after:
            bias_in, bias_rec = weights[2]
            xz, xr, xh = np.split(x @ kernel + bias_in, 3)
            hz, hr, hh = np.split(h @ recurrent + bias_rec, 3)
            z, r = sigmoid(xz + hz), sigmoid(xr + hr)
            h = z * h + (1 - z) * np.tanh(xh + r * hh)
        else:
            xz, xr, xh = np.split(x @ kernel + weights[2], 3)
            rz, rr, _ = np.split(h @ recurrent, 3)
            z, r = sigmoid(xz + rz), sigmoid(xr + rr)
            h = z * h + (1 - z) * np.tanh(xh + (r * h) @ recurrent[:, 2 * units:])
    return h


@pytest.mark.parametrize("kind,options", [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}),
                                          ("GRU", {"reset_after": False})])
def test_masked_predictions_match_numpy_for_left_and_right_padding(kind, options):
    x = keras.Input((6, 3))
    layer = getattr(layers, kind)(5, **options)
    model = keras.Model(x, layer(layers.Masking(0.0)(x)))
    weights = model.get_weights()
    gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
    assert weights[0].shape == (3, gates * 5) and weights[1].shape == (5, gates * 5)
    assert weights[2].shape == ((2, 15) if kind == "GRU" and options.get("reset_after", True) else (gates * 5,))
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in weights])
    weights = model.get_weights()
    lengths = [6, 2, 4]
    content = [rng.uniform(0.5, 2.0, (n, 3)).astype(np.float32) for n in lengths]
    right = np.zeros((4, 6, 3), np.float32)  # the last row is all padding
    left = np.zeros((4, 6, 3), np.float32)
    for i, c in enumerate(content):
        right[i, :len(c)] = c
        left[i, 6 - len(c):] = c
    expected = np.stack([numpy_rnn(kind, weights, c, **options) for c in content] + [np.zeros(5)])
    np.testing.assert_allclose(model.predict(right, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(model.predict(left, verbose=0), expected, atol=1e-5)


def test_an_lstm_learns_which_end_of_a_sequence_holds_the_signal():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, (256, 8, 2)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.float32)  # only the first step matters
    model = keras.Sequential([keras.Input((8, 2)), layers.LSTM(8), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


def test_recurrent_dropout_trains_and_leaves_predictions_alone():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (64, 5, 2)).astype(np.float32)
    y = (x[:, -1, 0] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((5, 2)), layers.GRU(6, dropout=0.2, recurrent_dropout=0.3),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_configs_have_keras_names_and_defaults_and_refusals_name_the_argument():
    config = layers.LSTM(4).get_config()
    assert config["units"] == 4 and config["unit_forget_bias"] is True
    assert config["recurrent_activation"] == "sigmoid" and config["return_sequences"] is False
    assert layers.GRU(3).get_config()["reset_after"] is True
    assert layers.GRU(3, dropout=0.2, recurrent_dropout=0.1).get_config()["recurrent_dropout"] == 0.1
    for make, argument in [(lambda: layers.LSTM(4, stateful=True), "stateful"),
                           (lambda: layers.SimpleRNN(4, unit_forget_bias=True), "unit_forget_bias")]:
        with pytest.raises(ValueError, match=argument):
            make()


@pytest.mark.parametrize("kind,merge", [("LSTM", "concat"), ("GRU", "sum"), ("SimpleRNN", "mul"), ("LSTM", "ave")])
def test_bidirectional_matches_numpy_for_left_and_right_padding(kind, merge):
    # The forward copy reads the real steps in order, the backward copy in reverse; the
    # padding is skipped on either side, and an all-padded row gives zeros.
    x = keras.Input((6, 3))
    model = keras.Model(x, layers.Bidirectional(getattr(layers, kind)(4), merge_mode=merge)(layers.Masking(0.0)(x)))
    weights = model.get_weights()
    assert len(weights) == 6 and weights[0].shape == weights[3].shape
    rng = np.random.default_rng(6)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in weights])
    weights = model.get_weights()
    lengths = [6, 2, 4]
    content = [rng.uniform(0.5, 2.0, (n, 3)).astype(np.float32) for n in lengths]
    right = np.zeros((4, 6, 3), np.float32)
    left = np.zeros((4, 6, 3), np.float32)
    for i, c in enumerate(content):
        right[i, :len(c)] = c
        left[i, 6 - len(c):] = c
    merged = {"concat": lambda f, b: np.concatenate([f, b]), "sum": lambda f, b: f + b,
              "mul": lambda f, b: f * b, "ave": lambda f, b: (f + b) / 2}[merge]
    expected = np.stack([merged(numpy_rnn(kind, weights[:3], c), numpy_rnn(kind, weights[3:], c[::-1]))
                         for c in content] + [np.zeros(8 if merge == "concat" else 4)])
    np.testing.assert_allclose(model.predict(right, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(model.predict(left, verbose=0), expected, atol=1e-5)


def test_bidirectional_config_trains_and_refusals():
    layer = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="ave")
    config = layer.get_config()
    assert config["merge_mode"] == "ave" and config["layer"]["class_name"] == "GRU"
    model = keras.Sequential([keras.Input((5, 2)), layer, layers.GlobalAveragePooling1D(), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    assert model.count_params() == 2 * (2 * 9 + 3 * 9 + 2 * 9) + 4
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (32, 5, 2)).astype(np.float32)
    y = x[:, 0, :1] - x[:, -1, 1:]
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    back = keras.models.model_from_json(model.to_json())
    assert back.layers[0].get_config()["merge_mode"] == "ave"
    with pytest.raises(ValueError, match="Bidirectional: layer must be a SimpleRNN, LSTM or GRU layer, got Dense"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(NotImplementedError, match="merge_mode=None"):
        layers.Bidirectional(layers.LSTM(3), merge_mode=None)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
