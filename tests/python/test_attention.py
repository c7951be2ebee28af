"""citadel.keras.layers.MultiHeadAttention: self- and cross-attention models' predictions
against numpy written here from Keras 3's equations and weight shapes (query/key/value kernels
(features, heads, dim), biases (heads, dim), output kernel (heads, value_dim, features)), with
padding masks (Masking, on right- and left-padded rows) and the causal mask, and the call
arguments citadel refuses by name."""
import numpy as np
import pytest

from citadel import keras
from citadel.keras import layers


def numpy_mha(weights, query, value, key, allowed):
    """One example: query (Tq, Dq), value (Tv, Dv), key (Tv, Dk); allowed (Tq, Tv) booleans. A
    query step allowed no key step weighs them all alike (Keras's -1e9 scores)."""
    wq, bq, wk, bk, wv, bv, wo, bo = [w.astype(np.float64) for w in weights]
    q = np.einsum("td,dhk->thk", query, wq) + bq
    k = np.einsum("td,dhk->thk", key, wk) + bk
    v = np.einsum("td,dhk->thk", value, wv) + bv
    scores = np.einsum("qhk,vhk->hqv", q, k) / np.sqrt(wq.shape[2])
    scores = np.where(allowed[None], scores, -1e9)
    scores -= scores.max(axis=-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=-1, keepdims=True)
    context = np.einsum("hqv,vhe->qhe", probs, v)
    return np.einsum("qhe,hed->qd", context, wo) + bo


def padded_batch(rng, steps, features, lengths):
    """Rows of the given lengths (uniform in [0.5, 2), never all zero), half right-, half
    left-padded with zeros; and each row's mask."""
    x = np.zeros((2 * len(lengths), steps, features), np.float32)
    mask = np.zeros((2 * len(lengths), steps), bool)
    for i, n in enumerate(lengths):
        content = rng.uniform(0.5, 2.0, (n, features)).astype(np.float32)
        x[i, :n], mask[i, :n] = content, True
        x[len(lengths) + i, steps - n:], mask[len(lengths) + i, steps - n:] = content, True
    return x, mask


def randomize(model, rng):
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_with_padding_and_causal_masks_matches_numpy(causal):
    x = keras.Input((6, 4))
    masked = layers.Masking(0.0)(x)
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    model = keras.Model(x, mha(masked, masked, use_causal_mask=causal))
    assert model.output_shape == (None, 6, 4)
    assert len(model.get_weights()) == 8
    weights = mha.get_weights()
    assert [w.shape for w in weights] == [(4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (2, 3, 4), (4,)]
    rng = np.random.default_rng(11)
    randomize(model, rng)
    weights = mha.get_weights()
    x_batch, mask = padded_batch(rng, 6, 4, [6, 2, 4, 1])
    causal_mask = np.tril(np.ones((6, 6), bool)) if causal else np.ones((6, 6), bool)
    expected = np.stack([numpy_mha(weights, row, row, row, m[:, None] & m[None, :] & causal_mask)
                         for row, m in zip(x_batch.astype(np.float64), mask)])
    got = model.predict(x_batch, verbose=0)
    np.testing.assert_allclose(got, expected, atol=2e-5)
    # The masks matter: without them the padded rows' real steps would read the padding.
    unmasked = np.stack([numpy_mha(weights, row, row, row, causal_mask) for row in x_batch.astype(np.float64)])
    assert np.abs(unmasked - got)[1].max() > 1e-3


def test_cross_attention_with_key_value_dim_and_output_shape_matches_numpy():
    query_in, value_in, key_in = keras.Input((3, 4)), keras.Input((5, 2)), keras.Input((5, 3))
    mha = layers.MultiHeadAttention(2, 3, value_dim=2, output_shape=5, name="cross")
    model = keras.Model([query_in, value_in, key_in], mha(query_in, layers.Masking(0.0)(value_in), key=key_in))
    assert model.output_shape == (None, 3, 5)
    assert len(model.get_weights()) == 8
    assert [w.shape for w in mha.get_weights()] == [(4, 2, 3), (2, 3), (3, 2, 3), (2, 3), (2, 2, 2), (2, 2),
                                                    (2, 2, 5), (5,)]
    rng = np.random.default_rng(12)
    randomize(model, rng)
    weights = mha.get_weights()
    value, value_mask = padded_batch(rng, 5, 2, [5, 3, 1])
    query = rng.normal(0, 1, (len(value), 3, 4)).astype(np.float32)
    key = rng.normal(0, 1, (len(value), 5, 3)).astype(np.float32)
    expected = np.stack([numpy_mha(weights, q, v, k, np.broadcast_to(m[None, :], (3, 5)))
                         for q, v, k, m in zip(query.astype(np.float64), value.astype(np.float64),
                                               key.astype(np.float64), value_mask)])
    np.testing.assert_allclose(model.predict([query, value, key], verbose=0), expected, atol=2e-5)
    # Without key=, the value is the key too (the key kernel then reads 2 features).
    alone = keras.Model([query_in, value_in], layers.MultiHeadAttention(1, 2)(query_in, value_in))
    assert [w.shape for w in alone.get_weights()][2] == (2, 1, 2)


def test_set_weights_round_trip_training_and_reload():
    x = keras.Input((4, 3))
    y = layers.MultiHeadAttention(2, 2, dropout=0.1)(x, x, use_causal_mask=True)
    model = keras.Model(x, layers.Dense(1)(layers.GlobalAveragePooling1D()(y)))
    rng = np.random.default_rng(13)
    inputs = rng.normal(0, 1, (32, 4, 3)).astype(np.float32)
    targets = inputs[:, :, :1].mean(axis=1) - inputs[:, :, 1:2].mean(axis=1)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(inputs, targets, epochs=20, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    back = keras.models.model_from_json(model.to_json())
    back.set_weights(model.get_weights())
    np.testing.assert_allclose(back.predict(inputs, verbose=0), model.predict(inputs, verbose=0), atol=1e-6)
    assert back.layers[1].get_config()["use_causal_mask"] is True


def test_refusals_name_the_layer_and_argument():
    x = keras.Input((4, 3))
    mha = layers.MultiHeadAttention(2, 2, name="att")
    with pytest.raises(NotImplementedError, match="MultiHeadAttention 'att': attention_mask="):
        mha(x, x, attention_mask=x)
    with pytest.raises(NotImplementedError, match="return_attention_scores=True"):
        mha(x, x, return_attention_scores=True)
    with pytest.raises(NotImplementedError, match="value_mask="):
        mha(x, x, value_mask=x)
    mha(x, x)
    with pytest.raises(NotImplementedError, match="use_causal_mask=True differs"):
        mha(x, x, use_causal_mask=True)
    with pytest.raises(ValueError, match="MultiHeadAttention: attention_axes"):
        layers.MultiHeadAttention(2, 2, attention_axes=(1, 2))
    with pytest.raises(ValueError, match="MultiHeadAttention: use_gate"):
        layers.MultiHeadAttention(2, 2, use_gate=True)
    with pytest.raises(Exception, match="key has 3 steps|key"):
        layers.MultiHeadAttention(2, 2)(x, x, key=keras.Input((3, 3)))
