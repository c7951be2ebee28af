"""Sequence layers in citadel.keras: Masking, Conv1D, the 1-D poolings and LayerNormalization
with Keras 3's names, defaults and configs. Figures are checked against numpy computations
from get_weights() (a causal convolution by its definition, a masked average over the kept
steps), and the summary names a layer that drops a mask."""
import numpy as np
import pytest

from citadel import keras
from citadel.keras import layers


def masked_pooling_model(steps=6):
    x = keras.Input((steps, 3))
    h = layers.GlobalAveragePooling1D()(layers.LayerNormalization(epsilon=1e-5)(layers.Masking(0.0)(x)))
    return keras.Model(x, layers.Dense(2, name="out")(h))


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + epsilon) * gamma + beta


def test_masked_average_matches_numpy_for_left_and_right_padding():
    model = masked_pooling_model()
    rng = np.random.default_rng(1)
    lengths = [6, 2, 4]
    content = [rng.uniform(0.5, 2.0, (n, 3)).astype(np.float32) for n in lengths]
    right = np.zeros((3, 6, 3), np.float32)
    left = np.zeros((3, 6, 3), np.float32)
    for i, c in enumerate(content):
        right[i, :len(c)] = c
        left[i, 6 - len(c):] = c
    gamma, beta, kernel, bias = model.get_weights()
    expected = np.stack([layer_norm(c, gamma, beta, 1e-5).mean(0) @ kernel + bias for c in content])
    np.testing.assert_allclose(model.predict(right, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(model.predict(left, verbose=0), expected, atol=1e-5)


def test_causal_conv1d_and_pooling_match_numpy():
    x = keras.Input((7, 2))
    conv = layers.Conv1D(3, 2, padding="causal", dilation_rate=2, activation="relu")
    model = keras.Model(x, layers.MaxPooling1D(2)(conv(x)))
    kernel, bias = model.get_weights()
    assert kernel.shape == (2, 2, 3)  # Keras's (kernel_size, in, filters)
    data = np.random.default_rng(2).normal(size=(4, 7, 2)).astype(np.float32)
    padded = np.concatenate([np.zeros((4, 2, 2), np.float32), data], 1)  # (2 - 1) * 2 zeros before
    conv_out = np.maximum(np.stack([padded[:, t:t + 3:2] for t in range(7)], 1).reshape(4, 7, 4)
                          @ kernel.reshape(4, 3) + bias, 0)
    expected = conv_out[:, :6].reshape(4, 3, 2, 3).max(2)
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, atol=1e-5)


def test_configs_have_keras_names_and_defaults():
    conv = layers.Conv1D(4, 3, padding="same")
    assert conv.get_config()["kernel_size"] == [3] and conv.get_config()["strides"] == [1]
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.Masking().get_config()["mask_value"] == 0.0
    with pytest.raises(ValueError, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)


def test_summary_names_a_layer_that_drops_the_mask(capsys):
    x = keras.Input((5, 2))
    h = layers.Conv1D(2, 2, name="conv")(layers.Masking(name="pad")(x))
    model = keras.Model(x, layers.GlobalMaxPooling1D()(h))
    model.summary()
    text = capsys.readouterr().out
    assert "Warning: layer 'conv' (Conv1D) does not support masking" in text
    assert "'pad' (Masking)" in text
    plain = masked_pooling_model()
    plain.summary()
    assert "Warning" not in capsys.readouterr().out


def test_spatial_dropout1d_keras_names_masks_and_files(tmp_path):
    layer = layers.SpatialDropout1D(0.4, seed=3)
    assert layer.rate == 0.4 and layer.get_config()["rate"] == 0.4
    with pytest.raises(ValueError, match="noise_shape"):  # not an argument of Keras 3's SpatialDropout1D
        layers.SpatialDropout1D(0.4, noise_shape=(None, 1, 3))
    x = keras.Input((6, 3))
    h = layers.SpatialDropout1D(0.5)(layers.Masking(0.0)(x))
    model = keras.Model(x, layers.GlobalAveragePooling1D()(h))
    assert [l.name for l in model.layers][2] == "spatial_dropout1d"
    rng = np.random.default_rng(2)
    lengths = [6, 2, 4]
    content = [rng.uniform(0.5, 2.0, (n, 3)).astype(np.float32) for n in lengths]
    padded = np.zeros((3, 6, 3), np.float32)
    for i, c in enumerate(content):
        padded[i, 6 - len(c):] = c
    # Inference: the identity, and the mask reaches the pooling (the kept steps' average).
    expected = np.stack([c.mean(0) for c in content])
    np.testing.assert_allclose(model.predict(padded, verbose=0), expected, atol=1e-6)
    assert "does not support masking" not in _summary(model)
    back = keras.models.model_from_json(model.to_json())
    assert back.get_layer("spatial_dropout1d").get_config()["rate"] == 0.5
    model.save(tmp_path / "sd.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "sd.keras").predict(padded, verbose=0), expected,
                               atol=1e-6)
    # Training runs through the dropped channels and learns.
    trained = keras.Sequential([keras.Input((5, 4)), layers.SpatialDropout1D(0.2), layers.GlobalAveragePooling1D(),
                                layers.Dense(1)])
    data = rng.normal(0, 1, (64, 5, 4)).astype(np.float32)
    target = data.mean(1) @ np.array([[1.0], [-1.0], [0.5], [2.0]], np.float32)
    trained.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = trained.fit(data, target, epochs=30, batch_size=16, verbose=0)
    # The training loss carries the dropped channels' noise; evaluate runs without them.
    assert trained.evaluate(data, target, verbose=0) < 0.25 * history.history["loss"][0]


def _summary(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_time_distributed_dense_matches_numpy_shares_weights_and_passes_masks(tmp_path):
    x = keras.Input((6, 3))
    h = layers.TimeDistributed(layers.Dense(4, activation="tanh"))(layers.Masking(0.0)(x))
    model = keras.Model(x, layers.Dense(1, name="out")(layers.GlobalAveragePooling1D()(h)))
    kernel, bias, out_kernel, out_bias = model.get_weights()
    assert kernel.shape == (3, 4) and bias.shape == (4,)  # one set for all steps
    assert model.get_layer("time_distributed").get_config()["layer"]["class_name"] == "Dense"
    rng = np.random.default_rng(4)
    lengths = [6, 2, 4]
    content = [rng.uniform(0.5, 2.0, (n, 3)).astype(np.float32) for n in lengths]
    padded = np.zeros((3, 6, 3), np.float32)
    for i, c in enumerate(content):
        padded[i, :len(c)] = c
    # The mask passes through the wrapper: the pooling averages the real steps only.
    expected = np.stack([np.tanh(c @ kernel + bias).mean(0) @ out_kernel + out_bias for c in content])
    np.testing.assert_allclose(model.predict(padded, verbose=0), expected, atol=1e-5)
    assert "does not support masking" not in _summary(model)
    back = keras.models.model_from_json(model.to_json())
    assert back.get_layer("time_distributed").get_config()["layer"]["config"]["units"] == 4
    model.save(tmp_path / "td.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "td.keras").predict(padded, verbose=0), expected,
                               atol=1e-5)
    with pytest.raises(ValueError, match="TimeDistributed"):
        layers.TimeDistributed("dense")


def test_time_distributed_trains_per_step_targets():
    model = keras.Sequential([keras.Input((5, 2)), layers.TimeDistributed(layers.Dense(1))])
    assert model.output_shape == (None, 5, 1) and model.count_params() == 3
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, (64, 5, 2)).astype(np.float32)
    y = x @ np.array([[1.5], [-0.5]], np.float32) + 0.25
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel[:, 0], [1.5, -0.5], atol=0.05)
