"""citadel.keras's recurrent states: return_state (Keras's [output, h] / [output, h, c]) and
initial_state= against numpy loops written from Keras's equations, on left- and right-padded
batches; an encoder's states into a decoder (the classic seq2seq) that trains, whose config
is Keras 3's (the states as tensor indices and initial_state kwargs) and survives a save and
load."""
import json

import numpy as np
import pytest

from citadel import keras
from citadel.keras import layers


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_states(kind, weights, sequence, h=None, c=None):
    """The final states of one unpadded sequence (steps, features) from initial h, c."""
    kernel, recurrent, bias = weights
    units = recurrent.shape[0]
    h = np.zeros(units) if h is None else np.array(h, np.float64)
    c = np.zeros(units) if c is None else np.array(c, np.float64)
    for x in sequence:
        if kind == "SimpleRNN":
            h = np.tanh(x @ kernel + h @ recurrent + bias)
        elif kind == "LSTM":
            i, f, g, o = np.split(x @ kernel + h @ recurrent + bias, 4)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        else:  # GRU, reset_after
            xz, xr, xh = np.split(x @ kernel + bias[0], 3)
            hz, hr, hh = np.split(h @ recurrent + bias[1], 3)
            z, r = sigmoid(xz + hz), sigmoid(xr + hr)
            h = z * h + (1 - z) * np.tanh(xh + r * hh)
    return (h, c) if kind == "LSTM" else (h,)


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_final_and_initial_states_match_numpy_for_left_and_right_padding(kind):
    states = 2 if kind == "LSTM" else 1
    x = keras.Input((6, 3))
    given = [keras.Input((4,)) for _ in range(states)]
    outputs = getattr(layers, kind)(4, return_state=True)(layers.Masking(0.0)(x), initial_state=given)
    assert isinstance(outputs, list) and len(outputs) == 1 + states
    assert all(tuple(t.shape) == (None, 4) for t in outputs)
    model = keras.Model([x] + given, outputs)
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    weights = [w.astype(np.float64) for w in model.get_weights()]
    lengths = [6, 2, 4, 0]  # the last row is all padding: it ends in its initial state
    content = [rng.uniform(0.5, 2.0, (n, 3)).astype(np.float32) for n in lengths]
    right, left = np.zeros((4, 6, 3), np.float32), np.zeros((4, 6, 3), np.float32)
    for i, part in enumerate(content):
        right[i, :len(part)] = part
        left[i, 6 - len(part):] = part
    initial = [rng.normal(0, 1, (4, 4)).astype(np.float32) for _ in range(states)]
    expected = [numpy_states(kind, weights, part, *(s[i] for s in initial)) for i, part in enumerate(content)]
    for batch in (right, left):
        predicted = model.predict([batch] + initial, verbose=0)
        for k in range(states):
            np.testing.assert_allclose(predicted[1 + k], np.stack([e[k] for e in expected]), atol=1e-5)
        np.testing.assert_allclose(predicted[0][:3], predicted[1][:3], atol=1e-6)  # the output is h


def seq2seq():
    source, start = keras.Input((5, 2), name="source"), keras.Input((3, 1), name="start")
    _, h, c = layers.LSTM(8, return_state=True, name="encoder")(source)
    decoded = layers.LSTM(8, return_sequences=True, name="decoder")(start, initial_state=[h, c])
    return keras.Model([source, start], layers.TimeDistributed(layers.Dense(2), name="head")(decoded))


def test_an_encoder_decoder_trains_through_the_states_and_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    source = rng.uniform(-1, 1, (128, 5, 2)).astype(np.float32)
    start = np.zeros((128, 3, 1), np.float32)  # the decoder learns the source's mean only from the states
    target = np.repeat(source.mean(axis=1, keepdims=True), 3, axis=1)
    model = seq2seq()
    config = model.get_config()
    decoder = next(layer for layer in config["layers"] if layer["name"] == "decoder")
    states = decoder["inbound_nodes"][0]["kwargs"]["initial_state"]
    assert [s["config"]["keras_history"] for s in states] == [["encoder", 0, 1], ["encoder", 0, 2]]
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    before = model.evaluate([source, start], target, verbose=0)
    model.fit([source, start], target, epochs=25, batch_size=16, verbose=0)
    after = model.evaluate([source, start], target, verbose=0)
    assert after < 0.3 * before, (before, after)
    path = str(tmp_path / "seq2seq.keras")
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.predict([source, start], verbose=0), model.predict([source, start], verbose=0))
    rebuilt = keras.models.model_from_json(model.to_json())  # the architecture alone, read back through replay
    assert json.loads(rebuilt.to_json())["config"]["layers"] == json.loads(model.to_json())["config"]["layers"]
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict([source, start], verbose=0),
                                  model.predict([source, start], verbose=0))


def test_state_arguments_are_checked():
    x = keras.Input((4, 2))
    with pytest.raises(TypeError, match="initial_state"):
        layers.GRU(3)(x, initial_state=[np.zeros((1, 3))])
    with pytest.raises(Exception, match="initial_state"):
        layers.LSTM(3)(x, initial_state=[keras.Input((3,))])  # LSTM needs h and c


def test_bidirectional_gives_forward_then_backward_states_from_given_ones():
    x = keras.Input((5, 2))
    given = [keras.Input((3,)) for _ in range(4)]
    outputs = layers.Bidirectional(layers.LSTM(3, return_state=True))(layers.Masking(0.0)(x), initial_state=given)
    assert len(outputs) == 5 and tuple(outputs[0].shape) == (None, 6)
    model = keras.Model([x] + given, outputs)
    rng = np.random.default_rng(9)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    weights = [w.astype(np.float64) for w in model.get_weights()]
    batch = np.zeros((2, 5, 2), np.float32)
    content = [rng.uniform(0.5, 2.0, (n, 2)).astype(np.float32) for n in (5, 3)]
    for i, part in enumerate(content):
        batch[i, :len(part)] = part  # the second row right-padded
    initial = [rng.normal(0, 1, (2, 3)).astype(np.float32) for _ in range(4)]
    predicted = model.predict([batch] + initial, verbose=0)
    for i, part in enumerate(content):
        fh, fc = numpy_states("LSTM", weights[:3], part, initial[0][i], initial[1][i])
        bh, bc = numpy_states("LSTM", weights[3:], part[::-1], initial[2][i], initial[3][i])
        for k, expected in enumerate((fh, fc, bh, bc)):
            np.testing.assert_allclose(predicted[1 + k][i], expected, atol=1e-5)
        np.testing.assert_allclose(predicted[0][i], np.concatenate([fh, bh]), atol=1e-5)


def test_a_sub_model_of_states_is_refused_by_name():
    x = keras.Input((4, 2))
    out, h = layers.GRU(3, return_state=True, name="gru")(x)
    model = keras.Model(x, [layers.Dense(1)(out), h])
    model.predict(np.zeros((2, 4, 2), np.float32), verbose=0)
    view = keras.Model(model.input, h)  # a view of the built model, which predicts through it
    with pytest.raises(NotImplementedError, match="gru"):
        view.predict(np.zeros((2, 4, 2), np.float32), verbose=0)
