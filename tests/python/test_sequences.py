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
