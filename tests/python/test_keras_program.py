"""The reference Keras program, verbatim but for its imports, and the habits a Keras user
relies on: History, evaluate, predict, summary, weights in Keras's layouts."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import citadel
from citadel.keras import layers, losses, optimizers
from citadel.keras.models import Sequential

from conftest import separable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def reference_model(metrics=("accuracy",)):
    model = Sequential()
    model.add(layers.Dense(10, input_dim=8, activation="relu"))
    model.add(layers.Dense(10, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=list(metrics))
    return model


def test_the_reference_program_runs_and_prints_keras_progress_lines():
    example = os.path.join(ROOT, "examples", "first_network.py")
    with open(example) as f:
        text = f.read()
    assert "from citadel.keras.models import Sequential" in text and "tensorflow" not in text
    result = subprocess.run([sys.executable, example], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, CITADEL_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [l for l in lines if l.startswith("Epoch ")] == [f"Epoch {e}/10" for e in range(1, 11)]
    progress = [l for l in lines if not l.startswith("Epoch ")]
    assert len(progress) == 10
    for line in progress:  # 1000 rows in batches of 32: 32 steps; Keras 3's bar, its figures sorted
        assert re.fullmatch("32/32 \u2501{20} \\d+s \\d+[mu]?s/step - accuracy: \\d\\.\\d{4} - loss: \\d\\.\\d{4}",
                            line), line


def test_history_holds_a_list_per_figure_and_the_epochs():
    x, y = separable(200, 8)
    model = reference_model(["accuracy", "auc"])
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, validation_split=0.25)
    assert history.epoch == [0, 1, 2, 3]
    assert list(history.history) == ["accuracy", "auc", "loss", "val_accuracy", "val_auc", "val_loss"]  # Keras 3's
    assert all(isinstance(v, list) and len(v) == 4 for v in history.history.values())
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert model.history is history


def test_validation_split_takes_the_last_rows_before_shuffling():
    x, y = separable(100, 8)
    citadel.set_seed(3)
    split = reference_model()
    a = split.fit(x, y, epochs=3, batch_size=10, verbose=0, validation_split=0.2, seed=5)
    citadel.set_seed(3)
    explicit = reference_model()
    b = explicit.fit(x[:80], y[:80], epochs=3, batch_size=10, verbose=0, validation_data=(x[80:], y[80:]), seed=5)
    assert a.history == b.history
    np.testing.assert_array_equal(split.predict(x), explicit.predict(x))


def test_evaluate_returns_a_scalar_a_list_in_compile_order_or_a_dict():
    x, y = separable(120, 8)
    model = reference_model(["auc", "accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    loss, auc, accuracy = model.evaluate(x, y, verbose=0)
    assert model.metrics_names == ["loss", "auc", "accuracy"]
    assert model.evaluate(x, y, return_dict=True) == {"loss": loss, "auc": auc, "accuracy": accuracy}
    assert list(model.evaluate(x, y, return_dict=True)) == ["accuracy", "auc", "loss"]  # sorted, as Keras 3
    # Independently from the predictions: binary cross-entropy and binary accuracy.
    p = model.predict(x).astype(np.float64)
    expected_loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    assert accuracy == pytest.approx(np.mean((p > 0.5) == (y > 0.5)))
    only_loss = Sequential([layers.Dense(1, input_dim=8)])
    only_loss.compile(loss="mse", optimizer="sgd")
    value = only_loss.evaluate(x, y)
    assert isinstance(value, float)
    assert value == pytest.approx(np.mean((only_loss.predict(x) - y) ** 2), rel=1e-5)


def test_predict_returns_float32_arrays_that_own_their_memory():
    x, _ = separable(50, 8)
    model = reference_model()
    first = model.predict(x)
    assert isinstance(first, np.ndarray) and first.dtype == np.float32 and first.shape == (50, 1)
    kept = first.copy()
    second = model.predict(x[::-1].copy())
    np.testing.assert_array_equal(first, kept)  # a later call does not write into it
    first[:] = 0  # writable, and ours alone
    np.testing.assert_array_equal(model.predict(x), kept)
    np.testing.assert_array_equal(second, kept[::-1])


def test_summary_prints_the_layer_table(capsys):
    model = reference_model()
    model.summary()
    text = capsys.readouterr().out
    assert "dense (Dense)" in text and "dense_2 (Dense)" in text
    params = (8 * 10 + 10) + (10 * 10 + 10) + (10 + 1)
    assert f"Total params: {params:,}" in text or f"Total params: {params}" in text
    assert model.count_params() == params


def test_weights_are_in_keras_layouts_and_predict_computes_with_them():
    model = reference_model()
    generator = np.random.default_rng(1)
    shapes = [(8, 10), (10,), (10, 10), (10,), (10, 1), (1,)]
    assert [w.shape for w in model.get_weights()] == shapes
    weights = [generator.normal(0, 0.5, s).astype(np.float32) for s in shapes]
    model.set_weights(weights)
    for got, given in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, given)
    x = generator.random((20, 8)).astype(np.float32)
    h = np.maximum(x @ weights[0] + weights[1], 0)
    h = np.maximum(h @ weights[2] + weights[3], 0)
    expected = 1 / (1 + np.exp(-(h @ weights[4] + weights[5])))
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    # Per layer, as Keras's layer.get_weights().
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], weights[2])
    model.layers[2].set_weights([np.zeros((10, 1)), np.ones(1)])
    np.testing.assert_allclose(model.predict(x), np.full((20, 1), 1 / (1 + np.exp(-1))), rtol=1e-6)


def test_conv2d_kernels_are_height_width_in_out_as_keras():
    model = Sequential([layers.Input(shape=(5, 5, 2)), layers.Conv2D(3, (2, 2), activation="linear"),
                        layers.Flatten()])
    generator = np.random.default_rng(2)
    kernel = generator.normal(size=(2, 2, 2, 3)).astype(np.float32)
    bias = generator.normal(size=(3,)).astype(np.float32)
    model.set_weights([kernel, bias])
    x = generator.random((2, 5, 5, 2)).astype(np.float32)
    expected = np.zeros((2, 4, 4, 3))
    for i in range(4):
        for j in range(4):
            expected[:, i, j, :] = np.einsum("nhwc,hwcf->nf", x[:, i:i + 2, j:j + 2, :], kernel) + bias
    np.testing.assert_allclose(model.predict(x), expected.reshape(2, -1), rtol=1e-5, atol=1e-5)


def test_inputs_of_any_numeric_type_and_layout_give_the_same_predictions():
    from citadel.keras.models import _float32
    x, _ = separable(30, 8)
    model = reference_model()
    expected = model.predict(x)
    wide = np.zeros((30, 16), dtype=np.float64)
    wide[:, ::2] = x
    for variant in (x.astype(np.float64), wide[:, ::2], x.tolist(), np.asfortranarray(x)):
        np.testing.assert_array_equal(model.predict(variant), expected)
    assert _float32(x, "x") is x  # float32 and C-contiguous: passed on without a copy
    counts = np.array([[1, 0, 2, 1, 0, 0, 1, 3]] * 4)
    np.testing.assert_array_equal(model.predict(counts), model.predict(counts.astype(np.float32)))


def test_labels_as_a_vector_or_a_column_train_the_same():
    x, y = separable(64, 8)
    citadel.set_seed(11)
    a = reference_model()
    ha = a.fit(x, y.ravel().astype(int), epochs=2, verbose=0, seed=1)
    citadel.set_seed(11)
    b = reference_model()
    hb = b.fit(x, y, epochs=2, verbose=0, seed=1)
    assert ha.history == hb.history


def test_optimizer_and_loss_objects_with_settings():
    x, y = separable(100, 8)
    model = Sequential([layers.Dense(4, input_dim=8, activation="tanh"), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9),
                  loss=losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    assert model.optimizer.learning_rate == pytest.approx(0.05)
    model.optimizer.learning_rate = 0.01
    assert model._native.learning_rate == pytest.approx(0.01)
    history = model.fit(x, y, epochs=3, verbose=0)
    z = model.predict(x).astype(np.float64)
    expected = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    assert model.evaluate(x, y)[0] == pytest.approx(expected, rel=1e-5)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_training_learns_a_separable_problem():
    x, y = separable(600, 4)
    model = Sequential([layers.Dense(16, input_shape=(4,), activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert model.evaluate(x, y)[1] > 0.93


def test_softmax_classes_with_to_categorical_and_sparse_labels():
    from citadel.keras.utils import to_categorical
    generator = np.random.default_rng(4)
    x = generator.random((300, 2)).astype(np.float32)
    labels = (x[:, 0] > 0.5).astype(int) + (x[:, 1] > 0.5).astype(int)  # 0, 1 or 2
    one_hot = to_categorical(labels)
    assert one_hot.shape == (300, 3) and one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.argmax(axis=1), labels)
    for loss, targets in (("categorical_crossentropy", one_hot), ("sparse_categorical_crossentropy", labels)):
        model = Sequential([layers.Dense(16, input_dim=2, activation="relu"), layers.Dense(3, activation="softmax")])
        model.compile(optimizer=optimizers.Adam(0.02), loss=loss, metrics=["accuracy"])
        model.fit(x, targets, epochs=25, batch_size=32, verbose=0)
        probabilities = model.predict(x)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
        assert model.evaluate(x, targets)[1] > 0.85


def test_regularizers_add_their_penalty_to_the_loss():
    from citadel.keras import regularizers
    x, y = separable(50, 8)
    model = Sequential([layers.Dense(3, input_dim=8, activation="tanh", kernel_regularizer=regularizers.l2(0.01)),
                        layers.Dense(1, kernel_regularizer=regularizers.l1_l2(l1=0.001, l2=0.0))])
    model.compile(optimizer="sgd", loss="mse")
    w1, b1, w2, b2 = model.get_weights()
    prediction = np.tanh(x @ w1 + b1) @ w2 + b2
    expected = np.mean((prediction - y) ** 2) + 0.01 * np.sum(w1.astype(np.float64) ** 2) + 0.001 * np.abs(w2).sum()
    assert model.evaluate(x, y) == pytest.approx(expected, rel=1e-5)


def test_layer_names_pop_and_a_built_model_that_cannot_grow():
    model = Sequential(name="mine")
    model.add(layers.Dense(4, input_dim=3, name="hidden"))
    model.add(layers.Dense(2, name="extra"))
    assert model.pop().name == "extra"
    model.add(layers.Dense(1, activation="sigmoid", name="out"))
    model.build()
    assert [layer.name for layer in model.layers] == ["hidden", "out"]
    assert model.input_shape == (None, 3) and model.output_shape == (None, 1)
    with pytest.raises(ValueError, match="built"):
        model.add(layers.Dense(1))
