"""Keras 3's functional API on citadel: keras.Input, layers called on symbolic tensors, merge
layers, keras.Model(inputs, outputs) with several inputs and outputs. Each figure is checked
against an independent computation: numpy forward passes from get_weights(), losses computed
from predict()'s output, finite differences of the loss; the expected History order and
summary text come from a run of real Keras 3.15 (scripts/compare_keras checks them again)."""
import json
import zipfile

import numpy as np
import pytest

import citadel
from citadel import attacks, privacy, protect
from citadel import keras
from citadel.keras import layers


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def two_headed():
    """Two inputs, two outputs: a class from both, an amount from the product of both."""
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    ha = layers.Dense(5, activation="tanh")(a)
    hb = layers.Dense(5, activation="tanh")(b)
    out1 = layers.Dense(1, activation="sigmoid", name="out1")(layers.Concatenate()([ha, hb]))
    out2 = layers.Dense(2, name="out2")(layers.Multiply()([ha, hb]))
    return keras.Model(inputs=[a, b], outputs=[out1, out2], name="two_headed")


def two_headed_forward(weights, a, b):
    k1, b1, k2, b2, k3, b3, k4, b4 = weights
    ha, hb = np.tanh(a @ k1 + b1), np.tanh(b @ k2 + b2)
    return sigmoid(np.concatenate([ha, hb], 1) @ k3 + b3), (ha * hb) @ k4 + b4


def data(rows=120, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1, 1, (rows, 4)), rng.uniform(-1, 1, (rows, 3))
    label = (a[:, :1] + b[:, 1:2] > 0).astype(np.float32)
    amount = np.stack([a[:, 2] * b[:, 0], a[:, 1] - b[:, 2]], 1)
    return a, b, label, amount


def compiled_two_headed():
    citadel.set_seed(3)
    model = two_headed()
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss={"out1": "binary_crossentropy", "out2": "mse"},
                  loss_weights={"out1": 1.0, "out2": 0.5}, metrics={"out1": ["accuracy"], "out2": ["mae"]})
    return model


def test_symbolic_tensors_have_keras_shapes_names_and_history():
    x = keras.Input((4,), name="features")
    assert x.shape == (None, 4) and x.dtype == "float32" and x.name == "features"
    dense = layers.Dense(3, name="h")
    h = dense(x)
    assert h.shape == (None, 3) and h._keras_history[0] is dense
    assert dense.input is x and dense.output is h
    assert layers.Concatenate(axis=-1)([h, x]).shape == (None, 7)
    assert layers.Dot(axes=1)([h, h]).shape == (None, 1)
    assert layers.add([h, h]).shape == (None, 3)
    assert keras.layers.Input is keras.Input.__class__ or callable(keras.layers.Input)
    from citadel.keras import Input, Model  # as Keras allows
    from citadel.keras.models import Model as ModelsModel
    assert Model is ModelsModel and Input is keras.Input


def test_mismatched_merge_shapes_are_a_value_error_at_the_call():
    a, b = keras.Input((3,)), keras.Input((4,))
    with pytest.raises(ValueError, match="Add"):
        layers.Add()([a, b])
    with pytest.raises(ValueError):
        layers.Dense(2)([a, b])  # a Dense takes one tensor


def test_a_residual_block_predicts_what_numpy_computes_from_its_weights():
    citadel.set_seed(1)
    x = keras.Input((5,))
    h = layers.Dense(6, activation="tanh")(x)
    skip = layers.Add()([h, layers.Dense(6, activation="relu")(h)])
    model = keras.Model(x, layers.Dense(1)(skip))
    assert isinstance(model, keras.Model) and model.name == "functional"
    assert [layer.name for layer in model.layers] == ["input_layer", "dense", "dense_1", "add", "dense_2"]
    k1, b1, k2, b2, k3, b3 = model.get_weights()
    data_x = np.random.default_rng(2).normal(size=(30, 5))
    hidden = np.tanh(data_x @ k1 + b1)
    expected = (hidden + np.maximum(hidden @ k2 + b2, 0)) @ k3 + b3
    np.testing.assert_allclose(model.predict(data_x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("merge, numpy_merge", [
    (layers.Add, lambda a, b: a + b), (layers.Subtract, lambda a, b: a - b), (layers.Multiply, lambda a, b: a * b),
    (layers.Average, lambda a, b: (a + b) / 2), (layers.Maximum, np.maximum), (layers.Minimum, np.minimum),
    (lambda: layers.Concatenate(axis=1), lambda a, b: np.concatenate([a, b], 1)),
    (lambda: layers.Dot(axes=1), lambda a, b: np.sum(a * b, 1, keepdims=True)),
    (lambda: layers.Dot(axes=1, normalize=True),
     lambda a, b: np.sum(a * b, 1, keepdims=True) / np.linalg.norm(a, axis=1, keepdims=True)
     / np.linalg.norm(b, axis=1, keepdims=True)),
])
def test_every_merge_layer_computes_what_numpy_does(merge, numpy_merge):
    a, b = keras.Input((4,), name="left"), keras.Input((4,), name="right")
    model = keras.Model([a, b], merge()([a, b]))
    rng = np.random.default_rng(5)
    left, right = rng.normal(size=(10, 4)), rng.normal(size=(10, 4))
    np.testing.assert_allclose(model.predict([left, right]), numpy_merge(left, right), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict({"left": left, "right": right}), numpy_merge(left, right), rtol=1e-5,
                               atol=1e-6)


def test_the_functional_forms_of_the_merges():
    a, b = keras.Input((3,)), keras.Input((3,))
    outputs = [layers.add([a, b]), layers.subtract([a, b]), layers.multiply([a, b]), layers.average([a, b]),
               layers.maximum([a, b]), layers.minimum([a, b]), layers.concatenate([a, b]), layers.dot([a, b], axes=1)]
    model = keras.Model([a, b], outputs)
    rng = np.random.default_rng(6)
    left, right = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    got = model.predict([left, right])
    expected = [left + right, left - right, left * right, (left + right) / 2, np.maximum(left, right),
                np.minimum(left, right), np.concatenate([left, right], 1), np.sum(left * right, 1, keepdims=True)]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_two_inputs_and_two_outputs_train_with_keras_3s_names_and_order():
    model = compiled_two_headed()
    a, b, label, amount = data()
    history = model.fit([a, b], [label, amount], epochs=3, batch_size=20, verbose=0, validation_split=0.2)
    # Keras 3.15's order for this very compile (scripts/compare_keras).
    assert list(history.history) == ["loss", "out1_accuracy", "out1_loss", "out2_loss", "out2_mae", "val_loss",
                                      "val_out1_accuracy", "val_out1_loss", "val_out2_loss", "val_out2_mae"]
    # The same by name, in dicts.
    again = model.fit({"a": a, "b": b}, {"out1": label, "out2": amount}, epochs=1, verbose=0,
                      validation_data=({"a": a, "b": b}, {"out1": label, "out2": amount}))
    assert list(again.history) == list(history.history)
    # evaluate: its figures are those of predict's outputs, computed here.
    p1, p2 = model.predict([a, b])
    clipped = np.clip(p1, 1e-7, 1 - 1e-7)
    bce = -np.mean(label * np.log(clipped) + (1 - label) * np.log(1 - clipped))
    mse = np.mean((p2 - amount) ** 2)
    logs = model.evaluate([a, b], [label, amount], return_dict=True)
    assert list(logs) == ["loss", "out1_accuracy", "out1_loss", "out2_loss", "out2_mae"]
    assert logs["out1_loss"] == pytest.approx(bce, rel=1e-4)
    assert logs["out2_loss"] == pytest.approx(mse, rel=1e-4)
    assert logs["loss"] == pytest.approx(bce + 0.5 * mse, rel=1e-4)
    assert logs["out1_accuracy"] == pytest.approx(np.mean((p1 > 0.5) == label))
    assert logs["out2_mae"] == pytest.approx(np.mean(np.abs(p2 - amount)), rel=1e-4)
    # The list form: the loss, each output's loss, then the metrics output by output (Keras 3's).
    assert model.metrics_names == ["loss", "out1_loss", "out2_loss", "out1_accuracy", "out2_mae"]
    assert model.evaluate([a, b], [label, amount]) == pytest.approx([logs[n] for n in model.metrics_names])
    # predict: one array per output, what numpy computes from the weights.
    e1, e2 = two_headed_forward(model.get_weights(), a, b)
    np.testing.assert_allclose(p1, e1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p2, e2, rtol=1e-5, atol=1e-5)


def test_compile_takes_lists_one_loss_for_all_and_lists_of_metric_lists():
    a, b, label, amount = data(60)
    model = two_headed()
    model.compile(optimizer="adam", loss=["binary_crossentropy", "mse"], loss_weights=[2.0, 1.0],
                  metrics=[["accuracy"], ["mae"]])
    logs = model.evaluate([a, b], [label, amount], return_dict=True)
    assert logs["loss"] == pytest.approx(2 * logs["out1_loss"] + logs["out2_loss"], rel=1e-5)
    assert set(logs) == {"loss", "out1_loss", "out2_loss", "out1_accuracy", "out2_mae"}
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])  # every output
    logs = model.evaluate([a, b], [label, amount], return_dict=True)
    assert set(logs) == {"loss", "out1_loss", "out2_loss", "out1_mae", "out2_mae"}
    with pytest.raises(ValueError, match=r"not outputs of the model; its outputs are \['out1', 'out2'\]"):
        model.compile(optimizer="adam", loss={"out1": "mse", "nope": "mse"})
    with pytest.raises(ValueError, match="no loss for the outputs"):
        model.compile(optimizer="adam", loss={"out1": "mse"})
    with pytest.raises(ValueError, match="the model has 2 inputs"):
        model.fit([a], [label, amount])
    with pytest.raises(ValueError, match=r"no data for \['b'\]"):
        model.predict({"a": a})


def test_dict_outputs_come_back_as_dicts_named_by_their_keys():
    x = keras.Input((3,), name="x")
    h = layers.Dense(4, activation="tanh")(x)
    model = keras.Model({"x": x}, {"kind": layers.Dense(1, activation="sigmoid")(h), "size": layers.Dense(1)(h)})
    rng = np.random.default_rng(1)
    data_x, kind, size = rng.normal(size=(50, 3)), rng.integers(0, 2, (50, 1)), rng.normal(size=(50, 1))
    model.compile(optimizer="adam", loss={"kind": "binary_crossentropy", "size": "mse"}, metrics={"kind": ["accuracy"]})
    history = model.fit({"x": data_x}, {"kind": kind, "size": size}, epochs=1, verbose=0)
    assert list(history.history) == ["kind_accuracy", "kind_loss", "loss", "size_loss"]
    predicted = model.predict({"x": data_x})
    assert isinstance(predicted, dict) and list(predicted) == ["kind", "size"]
    k, b, kk, kb, sk, sb = model.get_weights()
    hidden = np.tanh(data_x @ k + b)
    np.testing.assert_allclose(predicted["size"], hidden @ sk + sb, rtol=1e-5, atol=1e-5)


def test_a_shared_layer_has_one_set_of_weights_and_the_gradient_summed_over_its_calls():
    citadel.set_seed(4)
    left, right = keras.Input((3,)), keras.Input((3,))
    encoder = layers.Dense(2, activation="tanh", name="encoder")
    distance = layers.Subtract()([encoder(left), encoder(right)])
    model = keras.Model([left, right], layers.Dense(1, name="score")(distance))
    assert len(encoder._inbound_nodes) == 2
    assert model.count_params() == (3 * 2 + 2) + (2 + 1)
    assert [layer.name for layer in model.layers].count("encoder") == 1
    learning_rate = 0.1
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    rng = np.random.default_rng(3)
    l, r, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    before = model.get_weights()

    def loss(weights):  # the loss computed here, from the weights alone
        k, b, sk, sb = weights
        return np.mean(((np.tanh(l @ k + b) - np.tanh(r @ k + b)) @ sk + sb - y) ** 2)
    model.train_on_batch([l, r], y)
    step = [(w0 - w1) / learning_rate for w0, w1 in zip(before, model.get_weights())]
    h = 1e-5
    for index in range(len(before)):
        for position in np.ndindex(before[index].shape):
            plus = [w.astype(np.float64).copy() for w in before]
            minus = [w.astype(np.float64).copy() for w in before]
            plus[index][position] += h
            minus[index][position] -= h
            numeric = (loss(plus) - loss(minus)) / (2 * h)
            assert step[index][position] == pytest.approx(numeric, abs=2e-3, rel=2e-2)


def test_layers_inputs_outputs_and_get_layer_are_keras_s():
    model = two_headed()
    assert [t.name for t in model.inputs] == ["a", "b"] and model.input == model.inputs
    assert len(model.outputs) == 2 and model.output_names == ["out1", "out2"]
    assert model.get_layer("out1").output is model.outputs[0]
    assert model.get_layer(index=0).name == "a"
    assert model.layers[0].__class__.__name__ == "InputLayer"
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")


def test_a_sub_model_predicts_through_its_parent_and_shares_its_weights():
    model = compiled_two_headed()
    a, b, label, amount = data()
    features = keras.Model(model.input, model.get_layer("concatenate").output)

    def expected():
        k1, b1, k2, b2 = model.get_weights()[:4]
        return np.concatenate([np.tanh(a @ k1 + b1), np.tanh(b @ k2 + b2)], 1)
    np.testing.assert_allclose(features.predict([a, b]), expected(), rtol=1e-5, atol=1e-6)
    model.fit([a, b], [label, amount], epochs=2, verbose=0)  # training the parent shows in the view
    np.testing.assert_allclose(features.predict([a, b]), expected(), rtol=1e-5, atol=1e-6)
    for got, want in zip(features.get_weights(), model.get_weights()[:4]):
        np.testing.assert_array_equal(got, want)
    # One input of the parent is enough for a branch that reads only it.
    branch = keras.Model(model.inputs[0], model.layers[2].output)
    k1, b1 = model.get_weights()[:2]
    np.testing.assert_allclose(branch.predict(a), np.tanh(a @ k1 + b1), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="shares its layers' weights with model 'two_headed'"):
        features.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="shares its layers' weights"):
        features.fit([a, b], np.zeros((len(a), 10)))


def test_an_untrained_part_becomes_a_view_of_the_larger_model_built_from_it():
    x = keras.Input((4,))
    code = layers.Dense(2, activation="tanh", name="code")(x)
    encoder = keras.Model(x, code)
    encoder.get_weights()  # the encoder's weights exist first
    autoencoder = keras.Model(x, layers.Dense(4, name="decoded")(code))
    autoencoder.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(9)
    data_x = rng.normal(size=(40, 4))
    autoencoder.fit(data_x, data_x, epochs=2, verbose=0)
    k, b = autoencoder.get_weights()[:2]
    np.testing.assert_allclose(encoder.predict(data_x), np.tanh(data_x @ k + b), rtol=1e-5, atol=1e-6)


def test_graph_mistakes_are_value_errors_naming_what_is_wrong():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    with pytest.raises(ValueError, match="'b'.*not among the model's inputs"):
        keras.Model(a, layers.Add()([a, b]))
    with pytest.raises(ValueError, match="input 'b'.*used by no output"):
        keras.Model([a, b], layers.Dense(1)(a))
    with pytest.raises(ValueError, match="two layers are named 'same'"):
        keras.Model(a, layers.Dense(1, name="same")(layers.Dense(2, name="same")(a)))
    with pytest.raises(ValueError, match="not a keras.Input"):
        h = layers.Dense(2)(a)
        keras.Model(h, layers.Dense(1)(h))


# Real Keras 3.15's text for these models (printed without a terminal: 76 columns).
KERAS_SHARED_SUMMARY = """Model: "res"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ x (InputLayer)      │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ shared (Dense)      │ (None, 4)         │         20 │ x[0][0],          │
│                     │                   │            │ shared[0][0]      │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add (Add)           │ (None, 4)         │          0 │ shared[0][0],     │
│                     │                   │            │ shared[1][0]      │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 20 (80.00 B)
 Trainable params: 20 (80.00 B)
 Non-trainable params: 0 (0.00 B)"""

KERAS_CHAIN_SUMMARY = """Model: "chain"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ x (InputLayer)                  │ (None, 4)              │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ h (Dense)                       │ (None, 3)              │            15 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ out (Dense)                     │ (None, 1)              │             4 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 19 (76.00 B)
 Trainable params: 19 (76.00 B)
 Non-trainable params: 0 (0.00 B)"""

KERAS_SEQUENTIAL_SUMMARY = """Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense_1 (Dense)                 │ (None, 10)             │            90 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_2 (Dense)                 │ (None, 1)              │            11 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 101 (404.00 B)
 Trainable params: 101 (404.00 B)
 Non-trainable params: 0 (0.00 B)"""


def summary_of(model):
    lines = []
    model.summary(line_length=76, print_fn=lines.append)
    return "\n".join(lines)


def test_summary_is_keras_3s_table():
    x = keras.Input((4,), name="x")
    shared = layers.Dense(4, name="shared")
    h = shared(x)
    assert summary_of(keras.Model(x, layers.Add(name="add")([h, shared(h)]), name="res")) == KERAS_SHARED_SUMMARY
    x = keras.Input((4,), name="x")
    chain = keras.Model(x, layers.Dense(1, name="out")(layers.Dense(3, name="h")(x)), name="chain")
    assert summary_of(chain) == KERAS_CHAIN_SUMMARY
    sequential = keras.Sequential([keras.Input((8,)), layers.Dense(10, activation="relu", name="dense_1"),
                                   layers.Dense(1, name="dense_2")])
    assert summary_of(sequential) == KERAS_SEQUENTIAL_SUMMARY


def test_early_stopping_watches_one_outputs_validation_loss():
    model = compiled_two_headed()
    a, b, label, amount = data()
    stop = keras.callbacks.EarlyStopping(monitor="val_out1_loss", patience=0, min_delta=10.0)
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(sorted(logs)))
    history = model.fit([a, b], [label, amount], epochs=10, verbose=0, validation_split=0.25,
                        callbacks=[stop, record])
    assert len(history.epoch) == 2  # no improvement of 10 after the first epoch
    assert "val_out1_loss" in seen[0] and "out2_mae" in seen[0]


def test_graph_models_round_trip_through_files_json_and_weights(tmp_path):
    model = compiled_two_headed()
    a, b, label, amount = data()
    model.fit([a, b], [label, amount], epochs=2, verbose=0)
    expected = model.predict([a, b])
    path = str(tmp_path / "two.safetensors")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras.Model) and loaded.name == "two_headed"
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for got, want in zip(loaded.predict([a, b]), expected):
        np.testing.assert_array_equal(got, want)
    # The compile settings of each output come back: the same figures, the same History keys.
    assert loaded.evaluate([a, b], [label, amount], return_dict=True) == pytest.approx(
        model.evaluate([a, b], [label, amount], return_dict=True))
    assert list(loaded.fit([a, b], [label, amount], epochs=1, verbose=0).history) == [
        "loss", "out1_accuracy", "out1_loss", "out2_loss", "out2_mae"]
    # Signed and encrypted, as Sequential models are.
    protect.keygen(str(tmp_path / "k.pub"), str(tmp_path / "k.key"))
    protect.encryption_keygen(str(tmp_path / "m.key"))
    secret = str(tmp_path / "secret.safetensors")
    model.save(secret, secret_key=str(tmp_path / "k.key"), key_file=str(tmp_path / "m.key"))
    opened = keras.models.load_model(secret, public_key=str(tmp_path / "k.pub"), key_file=str(tmp_path / "m.key"))
    np.testing.assert_array_equal(opened.predict([a, b])[1], expected[1])
    with open(secret, "r+b") as handle:
        handle.seek(200)
        byte = handle.read(1)
        handle.seek(200)
        handle.write(bytes([byte[0] ^ 1]))
    with pytest.raises(citadel.SecurityError):
        keras.models.load_model(secret, public_key=str(tmp_path / "k.pub"), key_file=str(tmp_path / "m.key"))
    # JSON: the same architecture, new weights; set_weights makes it the same model.
    rebuilt = keras.models.model_from_json(model.to_json())
    assert json.loads(rebuilt.to_json())["config"]["layers"] == json.loads(model.to_json())["config"]["layers"]
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_array_equal(rebuilt.predict([a, b])[0], expected[0])
    # Weights files.
    weights = str(tmp_path / "w.safetensors")
    model.save_weights(weights)
    fresh = two_headed()
    fresh.load_weights(weights)
    np.testing.assert_array_equal(fresh.predict([a, b])[0], expected[0])


def test_a_keras_file_of_two_inputs_and_two_outputs_loads_as_a_graph(tmp_path):
    model = compiled_two_headed()
    a, b, label, amount = data()
    model.fit([a, b], [label, amount], epochs=1, verbose=0)
    path = str(tmp_path / "two.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, keras.Model)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for got, want in zip(loaded.predict([a, b]), model.predict([a, b])):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # An unsupported layer is still refused, with its name, not hidden by the fallback.
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(bad, "w") as target:
        for entry in source.namelist():
            data_bytes = source.read(entry)
            if entry == "config.json":
                data_bytes = data_bytes.replace(b'"Multiply"', b'"Lambda"')
            target.writestr(entry, data_bytes)
    with pytest.raises(Exception, match="Lambda"):
        keras.models.load_model(str(bad))


def test_a_sub_model_saves_its_own_copy(tmp_path):
    model = compiled_two_headed()
    a, b, _label, _amount = data(20)
    features = keras.Model(model.input, model.get_layer("multiply").output)
    path = str(tmp_path / "features.safetensors")
    features.save(path)
    np.testing.assert_array_equal(keras.models.load_model(path).predict([a, b]), features.predict([a, b]))


def test_private_training_of_a_graph_reports_the_accountants_epsilon():
    x = keras.Input((4,))
    h = layers.Dense(4, activation="tanh")(x)
    model = keras.Model(x, layers.Dense(1, activation="sigmoid")(layers.Add()([h, layers.Dense(4)(h)])))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    rng = np.random.default_rng(2)
    data_x, y = rng.normal(size=(200, 4)), rng.integers(0, 2, (200, 1))
    history = model.fit(data_x, y, epochs=2, batch_size=20, verbose=0,
                        dp=privacy.DPSGD(l2_norm_clip=1.0, noise_multiplier=1.1))
    expected = privacy.compute_epsilon(200, 20, 2, 1.1)
    assert history.history["epsilon"][-1] == pytest.approx(expected, rel=1e-9)
    two = compiled_two_headed()
    a, b, label, amount = data(100)
    history = two.fit([a, b], [label, amount], epochs=1, batch_size=10, verbose=0,
                      dp=privacy.DPSGD(l2_norm_clip=1.0, noise_multiplier=1.1))
    assert history.history["epsilon"][-1] == pytest.approx(privacy.compute_epsilon(100, 10, 1, 1.1), rel=1e-9)


def test_fgsm_on_a_graph_model_follows_the_gradient_computed_by_hand():
    x = keras.Input((3,))
    model = keras.Model(x, layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    rng = np.random.default_rng(4)
    data_x, y = rng.uniform(0.2, 0.8, (20, 3)), rng.integers(0, 2, (20, 1)).astype(np.float32)
    kernel, bias = model.get_weights()
    gradient = (sigmoid(data_x @ kernel + bias) - y) @ kernel.T  # ∂BCE/∂x per row
    expected = np.clip(data_x + 0.1 * np.sign(gradient), 0, 1)
    np.testing.assert_allclose(attacks.fgsm(model, data_x, y, epsilon=0.1), expected, atol=1e-6)
    with pytest.raises(ValueError, match="name the one to attack with input="):  # several inputs: say which
        attacks.fgsm(compiled_two_headed(), [data_x, data_x], [y, y], epsilon=0.1)
