"""Keras's trainable = False (frozen layers and models: weights kept bit for bit, counted as
non-trainable, a frozen BatchNormalization in inference mode, Keras files keeping the flag), a
model used as a layer of another (weights shared with it, as in Keras), and the attacks and
the membership audit on a model of two inputs. Expected figures come from numpy computations
on get_weights(), never from citadel's own output."""
import json
import zipfile

import numpy as np
import pytest

import citadel
from citadel import attacks, privacy
from citadel import keras
from citadel.keras import layers


def regression(rows=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (rows, 4)).astype(np.float32)
    return x, (x[:, :1] - 0.5 * x[:, 1:2]).astype(np.float32)


def frozen_middle():
    inp = keras.Input((4,))
    frozen = layers.Dense(6, activation="tanh", name="frozen", trainable=False)
    h = frozen(inp)
    out = layers.Dense(1, name="out")(layers.Dense(3, activation="relu", name="hidden")(h))
    return keras.Model(inp, out), frozen


def test_a_frozen_layer_keeps_its_weights_bit_for_bit_while_the_others_train():
    model, frozen = frozen_middle()
    assert frozen.trainable is False
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers[1:]}
    x, y = regression()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    for layer in model.layers[1:]:
        for old, new in zip(before[layer.name], layer.get_weights()):
            if layer.name == "frozen":
                np.testing.assert_array_equal(old, new)
            else:
                assert not np.array_equal(old, new), layer.name


def test_trainable_weights_and_summary_counts_follow_the_flags():
    inp = keras.Input((6,))
    base = layers.Dense(5, name="base")  # 35
    norm = layers.BatchNormalization(name="norm")  # gamma, beta 10; moving statistics 10
    model = keras.Model(inp, layers.Dense(2, name="head")(norm(base(inp))))  # head 12
    model.count_params()  # builds it: the layers' weights exist
    assert [w.shape for w in norm.trainable_weights] == [(5,), (5,)]
    assert [w.shape for w in norm.non_trainable_weights] == [(5,), (5,)]
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    base.trainable = False
    norm.trainable = False
    assert base.trainable_weights == [] and len(base.non_trainable_weights) == 2
    assert len(norm.non_trainable_weights) == 4  # as Keras: a frozen layer's weights are all non-trainable
    assert len(model.trainable_weights) == 2
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Total params: 67" in text
    assert "Trainable params: 12" in text
    assert "Non-trainable params: 55" in text
    # model.trainable sets every layer's, as Keras's.
    model.trainable = True
    assert base.trainable and norm.trainable and len(model.trainable_weights) == 6


def test_a_change_of_trainable_takes_effect_at_the_next_compile():
    model, frozen = frozen_middle()
    model.compile(optimizer="sgd", loss="mse")
    x, y = regression()
    frozen.trainable = True  # not compiled again: training still keeps it frozen, as Keras
    kernel = frozen.get_weights()[0].copy()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    np.testing.assert_array_equal(kernel, frozen.get_weights()[0])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.array_equal(kernel, frozen.get_weights()[0])


def test_a_frozen_batch_normalization_uses_its_moving_statistics_in_training():
    inp = keras.Input((3,))
    norm = layers.BatchNormalization(epsilon=1e-3, name="norm")
    model = keras.Model(inp, layers.Dense(1, use_bias=False, name="out")(norm(inp)))
    gamma, beta = np.array([1.5, 0.5, 2.0], np.float32), np.array([0.1, -0.2, 0.3], np.float32)
    mean, variance = np.array([0.4, -1.0, 2.0], np.float32), np.array([4.0, 0.25, 9.0], np.float32)
    norm.trainable = False
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    norm.set_weights([gamma, beta, mean, variance])
    x, y = regression(8)
    x = x[:, :3]
    kernel = model.get_layer("out").get_weights()[0]
    normalized = (x - mean) / np.sqrt(variance + 1e-3) * gamma + beta
    # One SGD step: the kernel moves by lr · ∂MSE/∂W, computed through the moving statistics.
    gradient = 2 * normalized.T @ (normalized @ kernel - y) / len(x)
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.get_layer("out").get_weights()[0], kernel - 0.1 * gradient, rtol=1e-5, atol=1e-6)
    for expected, got in zip([gamma, beta, mean, variance], norm.get_weights()):
        np.testing.assert_array_equal(expected, got)


def test_keras_files_keep_frozen_layers_frozen(tmp_path):
    model, _frozen = frozen_middle()
    model.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "frozen.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    flags = {entry["name"]: entry["config"].get("trainable") for entry in config["config"]["layers"]
             if entry["class_name"] != "InputLayer"}
    assert flags == {"frozen": False, "hidden": True, "out": True}
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("frozen").trainable is False
    assert loaded.get_layer("hidden").trainable is True
    safetensors = str(tmp_path / "frozen.safetensors")
    model.save(safetensors)
    assert keras.models.load_model(safetensors).get_layer("frozen").trainable is False


def test_private_training_with_a_frozen_layer_keeps_it_and_reports_epsilon():
    model, frozen = frozen_middle()
    model.compile(optimizer="sgd", loss="mse")
    kernel = frozen.get_weights()[0].copy()
    x, y = regression(100)
    history = model.fit(x, y, epochs=1, batch_size=10, verbose=0,
                        dp=privacy.DPSGD(l2_norm_clip=1.0, noise_multiplier=1.1))
    np.testing.assert_array_equal(kernel, frozen.get_weights()[0])
    assert history.history["epsilon"][-1] == pytest.approx(privacy.compute_epsilon(100, 10, 1, 1.1), rel=1e-9)


# --- a model used as a layer --------------------------------------------------------------

def transfer_model(base_trainable):
    citadel.set_seed(4)
    base_in = keras.Input((4,))
    base = keras.Model(base_in, layers.Dense(3, activation="tanh", name="features")(base_in), name="base")
    base.trainable = base_trainable
    inp = keras.Input((4,))
    outer = keras.Model(inp, layers.Dense(1, name="head")(base(inp)), name="outer")
    return base, outer


def test_a_nested_model_shares_its_weights_with_the_outer_one():
    base, outer = transfer_model(True)
    assert outer.get_layer("base") is base
    assert outer.count_params() == 4 * 3 + 3 + 3 + 1
    x, y = regression()
    kernel, bias = base.get_weights()
    head_kernel, head_bias = outer.get_layer("head").get_weights()
    expected = np.tanh(x @ kernel + bias) @ head_kernel + head_bias
    np.testing.assert_allclose(outer.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    outer.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    outer.fit(x, y, epochs=2, batch_size=16, verbose=0)
    trained = base.get_weights()
    assert not np.array_equal(trained[0], kernel)  # training outer trained base, as in Keras
    np.testing.assert_allclose(base.predict(x, verbose=0), np.tanh(x @ trained[0] + trained[1]), rtol=1e-5,
                               atol=1e-6)
    # And base's weights, set on base, are what outer computes with.
    base.set_weights([np.zeros_like(trained[0]), np.ones_like(trained[1])])
    head_kernel, head_bias = outer.get_layer("head").get_weights()
    np.testing.assert_allclose(outer.predict(x, verbose=0), np.tanh(np.ones((64, 3))) @ head_kernel + head_bias,
                               rtol=1e-5, atol=1e-6)


def test_transfer_learning_with_a_frozen_nested_model_then_fine_tuning():
    base, outer = transfer_model(False)
    outer.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    lines = []
    outer.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "base (Functional)" in text
    assert "Total params: 19" in text and "Trainable params: 4" in text and "Non-trainable params: 15" in text
    x, y = regression()
    kernel = base.get_weights()[0].copy()
    head = outer.get_layer("head").get_weights()[0].copy()
    outer.fit(x, y, epochs=2, batch_size=16, verbose=0)
    np.testing.assert_array_equal(kernel, base.get_weights()[0])
    assert not np.array_equal(head, outer.get_layer("head").get_weights()[0])
    base.trainable = True  # fine-tuning: unfreeze, compile again (Keras's rule), train
    outer.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    outer.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.array_equal(kernel, base.get_weights()[0])


def test_a_nested_sequential_model_and_files(tmp_path):
    citadel.set_seed(5)
    block = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)], name="block")
    inp = keras.Input((3,))
    outer = keras.Model(inp, layers.Dense(1, name="head")(block(inp)))
    x = np.random.default_rng(1).uniform(-1, 1, (10, 3)).astype(np.float32)
    assert outer.count_params() == 3 * 4 + 4 + 4 * 2 + 2 + 2 + 1
    k1, b1, k2, b2 = block.get_weights()
    hk, hb = outer.get_layer("head").get_weights()
    expected = (np.maximum(x @ k1 + b1, 0) @ k2 + b2) @ hk + hb
    np.testing.assert_allclose(outer.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for name in ("nested.keras", "nested.safetensors"):
        path = str(tmp_path / name)
        outer.save(path)
        np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), expected, rtol=1e-5,
                                   atol=1e-6)


def test_nesting_refuses_wrong_shapes_and_several_outputs():
    base_in = keras.Input((4,))
    base = keras.Model(base_in, layers.Dense(2)(base_in), name="base")
    with pytest.raises(ValueError, match="model 'base' takes inputs of shapes"):
        base(keras.Input((5,)))
    two = keras.Model(base_in, [layers.Dense(1)(base_in), layers.Dense(1)(base_in)], name="two")
    with pytest.raises(NotImplementedError, match="one output"):
        two(keras.Input((4,)))


# --- attacks and the membership audit on two inputs --------------------------------------

def two_inputs():
    citadel.set_seed(6)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    merged = layers.Concatenate()([a, b])
    model = keras.Model([a, b], layers.Dense(1, activation="sigmoid", name="out")(merged))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model


def test_fgsm_on_a_chosen_input_follows_the_gradient_computed_by_hand():
    model = two_inputs()
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.2, 0.8, (20, 3)).astype(np.float32), rng.uniform(0.2, 0.8, (20, 2)).astype(np.float32)
    y = rng.integers(0, 2, (20, 1)).astype(np.float32)
    kernel, bias = model.get_weights()
    p = 1 / (1 + np.exp(-(np.concatenate([a, b], 1) @ kernel + bias)))
    gradient_b = (p - y) @ kernel[3:].T  # ∂BCE/∂b per row
    expected = np.clip(b + 0.1 * np.sign(gradient_b), 0, 1)
    np.testing.assert_allclose(attacks.fgsm(model, [a, b], y, epsilon=0.1, input="b"), expected, atol=1e-6)
    np.testing.assert_allclose(attacks.fgsm(model, {"a": a, "b": b}, y, epsilon=0.1, input=1), expected, atol=1e-6)
    adversarial = attacks.pgd(model, [a, b], y, epsilon=0.05, steps=5, input="a")
    assert adversarial.shape == a.shape and np.abs(adversarial - a).max() <= 0.05 + 1e-6
    curve = attacks.robustness_curve(model, [a, b], y, [0.0, 0.2], input="a")
    assert curve[0]["accuracy"] == pytest.approx(np.mean((p > 0.5) == (y > 0.5)))
    with pytest.raises(ValueError, match="name the one to attack with input="):
        attacks.fgsm(model, [a, b], y, epsilon=0.1)
    with pytest.raises(ValueError, match="'c' is not an input"):
        attacks.fgsm(model, [a, b], y, epsilon=0.1, input="c")


def test_membership_audit_on_two_inputs_sees_an_overfit_model():
    citadel.set_seed(9)
    a_in, b_in = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    hidden = layers.Dense(64, activation="relu")(layers.Concatenate()([a_in, b_in]))
    model = keras.Model([a_in, b_in], layers.Dense(1, activation="sigmoid", name="out")(hidden))
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(80, 3)).astype(np.float32), rng.normal(size=(80, 2)).astype(np.float32)
    y = rng.integers(0, 2, (80, 1)).astype(np.float32)  # random labels: only memorization fits them
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    model.fit([a[:40], b[:40]], y[:40], epochs=150, batch_size=8, verbose=0)
    results = privacy.membership_audit(model, [a[:40], b[:40]], y[:40], {"a": a[40:], "b": b[40:]}, y[40:],
                                       reference_epochs=5, calibrated=True)
    by_attack = {r["attack"]: r for r in results}
    assert sorted(by_attack) == ["calibrated_loss", "loss_threshold"]
    assert (by_attack["loss_threshold"]["members"], by_attack["loss_threshold"]["non_members"]) == (40, 40)
    # The calibrated attack trains its reference on half the holdout rows and scores the rest.
    assert (by_attack["calibrated_loss"]["members"], by_attack["calibrated_loss"]["non_members"]) == (40, 20)
    # The loss attack's AUC, computed here from the model's own per-row losses.
    k1, b1, k2, b2 = (w.astype(np.float64) for w in model.get_weights())
    logits = (np.maximum(np.concatenate([a, b], 1) @ k1 + b1, 0) @ k2 + b2)[:, 0]
    loss = np.logaddexp(0, np.where(y[:, 0] > 0.5, -logits, logits))  # the cross-entropy from the logits
    members, others = -loss[:40], -loss[40:]
    auc = np.mean([(m > o) + 0.5 * (m == o) for m in members for o in others])
    assert auc > 0.6  # memorized: the audit has something to see
    assert by_attack["loss_threshold"]["auc"] == pytest.approx(auc, abs=1e-3)
