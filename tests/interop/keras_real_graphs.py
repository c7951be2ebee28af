"""Real Keras 3's side of tests/interop/keras_real_graphs_check (run in build/venv-interop).

  write DIR   builds Functional models with Keras (a residual block, two inputs, two outputs,
              a shared layer, every merge layer, a small ResNet with BatchNormalization,
              nested Sequential and Functional models; sequences: Masking before
              LayerNormalization, Add and masked GlobalAveragePooling1D, and before a Conv1D
              that drops the mask, on left- and right-padded batches; a Conv1D/pooling stack),
              gives them random weights and moving statistics, and saves each as .keras,
              legacy .h5, and .weights.h5 with its to_json() config; DIR/manifest.json holds
              each model's inputs and Keras's predictions
  read DIR    loads each citadel-exported DIR/<name>.citadel.keras with keras.saving, runs
              each DIR/<name>.citadel.onnx in ONNX Runtime, compares both with citadel's
              predictions (DIR/citadel.json) and prints the largest differences; exits 1
              when one is over 1e-5
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

BAR = 1e-5


def residual():
    x = keras.Input((6,), name="x")
    h = layers.Dense(6, activation="relu", name="dense")(x)
    h = layers.Add(name="add")([x, layers.Dense(6, activation="tanh", name="inner")(h)])
    y = layers.Dense(3, activation="softmax", name="out")(layers.Activation("relu", name="act")(h))
    return keras.Model(x, y, name="residual")


def two_inputs():
    a, b = keras.Input((5,), name="numbers"), keras.Input((3,), name="flags")
    h = layers.Concatenate(name="joined")([layers.Dense(4, activation="elu", name="da")(a),
                                           layers.Dense(4, activation="relu", name="db")(b)])
    return keras.Model([a, b], layers.Dense(1, activation="sigmoid", name="out")(h), name="two_inputs")


def two_outputs():
    x = keras.Input((7,), name="x")
    h = layers.Dense(8, activation="relu", name="trunk")(x)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    amount = layers.Dense(1, name="amount")(layers.Dense(4, activation="swish", name="side")(h))
    return keras.Model(x, [cls, amount], name="two_outputs")


def shared_layer():
    # A siamese pair: one encoder called on both inputs, its outputs compared.
    left, right = keras.Input((6,), name="left"), keras.Input((6,), name="right")
    encoder = layers.Dense(5, activation="tanh", name="encoder")
    a, b = encoder(left), encoder(right)
    distance = layers.Subtract(name="difference")([a, b])
    similarity = layers.Dot(axes=1, normalize=True, name="cosine")([a, b])
    both = layers.Concatenate(name="both")([distance, similarity])
    return keras.Model([left, right], [layers.Dense(1, activation="sigmoid", name="same")(both), similarity],
                       name="shared_layer")


def merges():
    a, b, c = keras.Input((4,), name="a"), keras.Input((4,), name="b"), keras.Input((4,), name="c")
    p = layers.Dense(4, name="pa")(a)
    q = layers.Dense(4, name="qb")(b)
    merged = [layers.Add(name="add3")([p, q, c]), layers.Subtract(name="subtract")([p, q]),
              layers.Multiply(name="multiply3")([p, q, c]), layers.Average(name="average")([p, q, c]),
              layers.Maximum(name="maximum")([p, q]), layers.Minimum(name="minimum")([p, q, c]),
              layers.Dot(axes=1, name="dot")([p, q])]
    flat = layers.Concatenate(name="concatenate")(merged)
    # Matrices: a Concatenate along the first feature axis, a Dot over (2, 2).
    m = layers.Reshape((2, 2), name="as_matrix")(p)
    n = layers.Reshape((2, 2), name="as_matrix_b")(q)
    stacked = layers.Concatenate(axis=1, name="rows")([m, n])
    gram = layers.Dot(axes=(2, 2), name="gram")([stacked, m])
    return keras.Model([a, b, c], [flat, layers.Flatten(name="flat_gram")(gram)], name="merges")


def small_resnet():
    x = keras.Input((10, 10, 3), name="image")
    h = layers.Conv2D(8, 3, padding="same", use_bias=False, name="stem")(x)
    h = layers.Activation("relu", name="stem_relu")(layers.BatchNormalization(name="stem_bn")(h))
    for block, (filters, stride) in enumerate([(8, 1), (12, 2)]):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"b{block}_conv1")(h)
        y = layers.Activation("relu", name=f"b{block}_relu1")(layers.BatchNormalization(name=f"b{block}_bn1")(y))
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"b{block}_conv2")(y)
        y = layers.BatchNormalization(name=f"b{block}_bn2")(y)
        skip = h
        if stride != 1 or filters != h.shape[-1]:  # the projected skip
            skip = layers.Conv2D(filters, 1, strides=stride, name=f"b{block}_project")(h)
            skip = layers.BatchNormalization(name=f"b{block}_project_bn")(skip)
        h = layers.Activation("relu", name=f"b{block}_out")(layers.Add(name=f"b{block}_add")([y, skip]))
    h = layers.GlobalAveragePooling2D(name="pool")(h)
    return keras.Model(x, layers.Dense(4, activation="softmax", name="classes")(h), name="small_resnet")


def nested():
    # A Sequential block called twice (its weights shared) and a Functional model inside.
    block = keras.Sequential([keras.Input((6,)), layers.Dense(5, activation="relu", name="d1"),
                              layers.BatchNormalization(name="bn"), layers.Dense(6, name="d2")], name="block")
    u = keras.Input((6,), name="u")
    inner = keras.Model(u, layers.Dense(6, activation="tanh", name="t")(u), name="inner")
    x = keras.Input((6,), name="x")
    h = layers.Add(name="skip")([x, block(x)])
    return keras.Model(x, layers.Dense(2, name="out")(inner(block(h))), name="nested")


def masked_pooling():
    # Masks: made by Masking, passed through LayerNormalization and Activation, combined by
    # Add (Keras 3: OR), read by GlobalAveragePooling1D (the average of the kept steps).
    x = keras.Input((8, 4), name="tokens")
    masked = layers.Masking(0.0, name="pad")(x)
    h = layers.Add(name="both")([layers.LayerNormalization(name="norm")(masked),
                                 layers.Activation("tanh", name="squash")(masked)])
    h = layers.GlobalAveragePooling1D(name="mean")(h)
    return keras.Model(x, layers.Dense(3, activation="softmax", name="out")(h), name="masked_pooling")


def masked_conv():
    # Masking → Conv1D → GlobalAveragePooling1D → Dense: Keras 3's Conv1D does not support
    # masks, so it drops the mask (with a warning) and the average counts every step.
    x = keras.Input((8, 4), name="tokens")
    h = layers.Conv1D(5, 3, padding="causal", dilation_rate=2, activation="relu", name="conv")(
        layers.Masking(0.0, name="pad")(x))
    return keras.Model(x, layers.Dense(2, name="out")(layers.GlobalAveragePooling1D(name="mean")(h)),
                       name="masked_conv")


def conv1d_stack():
    x = keras.Input((12, 3), name="signal")
    h = layers.Conv1D(6, 3, strides=2, padding="same", activation="tanh", name="c1")(x)
    h = layers.MaxPooling1D(2, padding="same", name="p1")(h)
    h = layers.Conv1D(4, 2, padding="same", dilation_rate=2, name="c2")(h)
    h = layers.AveragePooling1D(2, strides=1, name="p2")(h)
    h = layers.LayerNormalization(center=False, epsilon=1e-4, name="norm")(h)
    h = layers.Concatenate(name="pools")([layers.GlobalMaxPooling1D(name="gmax")(h),
                                          layers.GlobalAveragePooling1D(name="gavg")(h)])
    return keras.Model(x, layers.Dense(2, name="out")(h), name="conv1d_stack")


def embedded_text():
    # Token ids (int32, as Keras writes them): an Embedding with mask_zero whose mask
    # LayerNormalization passes on and GlobalAveragePooling1D reads, beside an Embedding
    # without a mask through a causal Conv1D.
    ids = keras.Input((8,), dtype="int32", name="ids")
    words = layers.Embedding(20, 6, mask_zero=True, name="words")(ids)
    h = layers.GlobalAveragePooling1D(name="mean")(layers.LayerNormalization(name="norm")(words))
    c = layers.Conv1D(3, 2, padding="causal", name="conv")(layers.Embedding(20, 4, name="chars")(ids))
    h = layers.Concatenate(name="both")([h, layers.GlobalMaxPooling1D(name="gmax")(c)])
    return keras.Model(ids, layers.Dense(3, activation="softmax", name="out")(h), name="embedded_text")


def embedded_chain():
    # A Sequential chain that starts with an Embedding (Keras gives it a float32 input and
    # casts; citadel reads it as int32 ids).
    return keras.Sequential([keras.Input((7,)), layers.Embedding(15, 5, name="emb"),
                             layers.Conv1D(4, 3, padding="same", activation="relu", name="conv"),
                             layers.GlobalAveragePooling1D(name="mean"), layers.Dense(2, name="out")],
                            name="embedded_chain")


def masked_recurrent():
    # Masking → every recurrent cell: LSTM and GRU (reset_after both ways) returning sequences
    # (the mask passes on), one read backwards, a SimpleRNN's last output → Dense.
    x = keras.Input((8, 4), name="tokens")
    h = layers.LSTM(5, return_sequences=True, name="lstm")(layers.Masking(0.0, name="pad")(x))
    h = layers.GRU(4, return_sequences=True, go_backwards=True, reset_after=False, name="gru_v1")(h)
    h = layers.GRU(4, return_sequences=True, name="gru")(h)
    h = layers.SimpleRNN(3, name="rnn")(h)
    return keras.Model(x, layers.Dense(2, name="out")(h), name="masked_recurrent")


def recurrent_sequences():
    # Sequences out of an LSTM with relu and no bias, and of a GRU without a mask, pooled.
    x = keras.Input((6, 3), name="signal")
    h = layers.LSTM(4, activation="relu", use_bias=False, unit_forget_bias=False, return_sequences=True,
                    name="lstm")(x)
    h = layers.GRU(3, return_sequences=True, go_backwards=True, name="gru")(h)
    return keras.Model(x, layers.Dense(2, name="out")(layers.GlobalAveragePooling1D(name="mean")(h)),
                       name="recurrent_sequences")


def bidirectional():
    # Masking → Bidirectional around each cell and each merge mode: LSTM sequences
    # concatenated, GRU sequences summed, a GRU (reset_after=False) with an explicit backward
    # layer averaged, a SimpleRNN's last outputs multiplied → Dense.
    x = keras.Input((8, 3), name="frames")
    h = layers.Bidirectional(layers.LSTM(4, return_sequences=True, name="lstm"), name="bi_lstm")(
        layers.Masking(0.0, name="pad")(x))
    h = layers.Bidirectional(layers.GRU(3, return_sequences=True, name="gru"), merge_mode="sum", name="bi_gru")(h)
    h = layers.Bidirectional(layers.GRU(3, return_sequences=True, reset_after=False, name="gru_v1"),
                             backward_layer=layers.GRU(3, return_sequences=True, reset_after=False,
                                                       go_backwards=True, name="gru_back"),
                             merge_mode="ave", name="bi_ave")(h)
    h = layers.Bidirectional(layers.SimpleRNN(2, name="rnn"), merge_mode="mul", name="bi_rnn")(h)
    return keras.Model(x, layers.Dense(2, name="out")(h), name="bidirectional")



def attention():
    # Masking → self-attention with the causal mask (as Keras calls it: mha(x, x,
    # use_causal_mask=True)), a residual Add, then cross-attention of it on a memory with its
    # own keys (key=, output_shape) → masked GlobalAveragePooling1D → Dense. (Keras 3.15's JAX
    # attention fails on a value_dim other than key_dim; tests/python/test_attention.py has one.)
    x = keras.Input((8, 4), name="frames")
    memory, keys = keras.Input((5, 3), name="memory"), keras.Input((5, 2), name="keys")
    m = layers.Masking(0.0, name="pad")(x)
    h = layers.MultiHeadAttention(2, 3, name="self_attention")(m, m, use_causal_mask=True)
    h = layers.Add(name="residual")([m, h])
    c = layers.MultiHeadAttention(2, 4, output_shape=6, name="cross_attention")(h, memory, key=keys)
    return keras.Model([x, memory, keys], layers.Dense(2, name="out")(layers.GlobalAveragePooling1D(name="mean")(c)),
                       name="attention")

def dense_attention():
    # The attention model without a mask (so citadel's ONNX export covers it): causal
    # self-attention → residual Add → LayerNormalization → cross-attention on a memory with
    # its own keys (value_dim as key_dim: see attention()) → a causal Conv1D → GlobalMaxPooling1D.
    x = keras.Input((6, 4), name="frames")
    memory, keys = keras.Input((5, 3), name="memory"), keras.Input((5, 2), name="keys")
    h = layers.MultiHeadAttention(2, 3, name="self_attention")(x, x, use_causal_mask=True)
    h = layers.LayerNormalization(name="norm")(layers.Add(name="residual")([x, h]))
    c = layers.MultiHeadAttention(3, 2, output_shape=5, name="cross_attention")(h, memory, key=keys)
    c = layers.Conv1D(4, 3, padding="causal", name="conv")(c)
    return keras.Model([x, memory, keys], layers.Dense(2, name="out")(layers.GlobalMaxPooling1D(name="max")(c)),
                       name="dense_attention")


def seq2seq():
    # Keras's seq2seq shape: an encoder LSTM's final states (return_state) start a decoder LSTM
    # (initial_state) whose sequence is an output; a GRU's final state feeds a Dense head, and a
    # Bidirectional GRU's two final states are concatenated into an output of their own.
    source, target = keras.Input((7, 3), name="source"), keras.Input((5, 4), name="target")
    _, h, c = layers.LSTM(4, return_state=True, name="encoder")(source)
    decoded = layers.LSTM(4, return_sequences=True, name="decoder")(target, initial_state=[h, c])
    _, g = layers.GRU(3, return_state=True, name="summary")(decoded)
    _, forward, backward = layers.Bidirectional(layers.GRU(2, return_state=True, name="gru"), name="bi_states")(source)
    return keras.Model([source, target], [decoded, layers.Dense(2, name="out")(g),
                                          layers.Concatenate(name="both")([forward, backward])], name="seq2seq")


MODELS = [residual, two_inputs, two_outputs, shared_layer, merges, small_resnet, nested, masked_pooling,
          masked_conv, conv1d_stack, masked_recurrent, recurrent_sequences, embedded_text, embedded_chain,
          bidirectional, attention, seq2seq, dense_attention]
# KERAS_REAL_GRAPHS_ONLY=name,name writes only those models (a quicker check of a few).
if os.environ.get("KERAS_REAL_GRAPHS_ONLY"):
    MODELS = [m for m in MODELS if m.__name__ in os.environ["KERAS_REAL_GRAPHS_ONLY"].split(",")]
# Models whose layers citadel does not export to ONNX yet (Keras's side only): none since
# masks are exported.
KERAS_ONLY = set()
# Models of token ids: padded rows of ids (0 is padding), rows 1 and 4 (2 and 5) the same
# ids padded on the right and on the left.
TOKEN_IDS = {"embedded_text", "embedded_chain"}
# Models given padded sequences: rows 0-3 right-padded, 4-7 left-padded, rows 1 and 4 (and
# 2 and 5) the same sequence padded on either side.
PADDED = {"masked_pooling", "masked_conv", "masked_recurrent", "bidirectional", "attention"}


def padded_batch(rng, shape):
    steps, features = shape
    x = np.zeros((8, steps, features), np.float32)
    lengths = [8, 5, 3, 1, 5, 3, 6, 2]
    content = [rng.normal(0, 1, (n, features)).astype(np.float32) for n in lengths]
    content[4], content[5] = content[1], content[2]
    for row, c in enumerate(content):
        if row < 4:
            x[row, :len(c)] = c
        else:
            x[row, steps - len(c):] = c
    return x


def padded_ids(rng, steps, vocabulary):
    x = np.zeros((8, steps), np.int32)
    lengths = [steps, 5, 3, 1, 5, 3, 6, 2]
    content = [rng.integers(1, vocabulary, n) for n in lengths]
    content[4], content[5] = content[1], content[2]
    for row, c in enumerate(content):
        if row < 4:
            x[row, :len(c)] = c
        else:
            x[row, steps - len(c):] = c
    return x


def all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):  # a nested model's own layers
            yield from all_layers(layer)


def randomize(model, rng):
    model.set_weights([rng.normal(0, 0.4, w.shape).astype(np.float32) for w in model.get_weights()])
    for layer in all_layers(model):
        if isinstance(layer, layers.BatchNormalization):
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0, 0.5, layer.moving_mean.shape).astype(np.float32))


def as_list(outputs):
    return [np.asarray(y) for y in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def write(directory):
    rng = np.random.default_rng(11)
    manifest = {"keras": keras.__version__, "backend": keras.backend.backend(), "models": []}
    for make in MODELS:
        model = make()
        randomize(model, rng)
        if model.name in PADDED:
            xs = [padded_batch(rng, tuple(model.inputs[0].shape[1:]))]  # the first input; any others dense
            xs += [rng.normal(0, 1, (8,) + tuple(i.shape[1:])).astype(np.float32) for i in model.inputs[1:]]
        elif model.name in TOKEN_IDS:
            xs = [padded_ids(rng, model.inputs[0].shape[1], 15)]
        else:
            xs = [rng.normal(0, 1, (8,) + tuple(i.shape[1:])).astype(np.float32) for i in model.inputs]
        ys = as_list(model.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        name = model.name
        model.save(os.path.join(directory, f"{name}.keras"))
        model.save(os.path.join(directory, f"{name}.h5"))
        model.save_weights(os.path.join(directory, f"{name}.weights.h5"))
        with open(os.path.join(directory, f"{name}.json"), "w") as f:
            f.write(model.to_json())
        manifest["models"].append({"name": name, "inputs": [i.name for i in model.inputs],
                                   "outputs": [o.name for o in model.outputs], "onnx": name not in KERAS_ONLY,
                                   "x": [x.tolist() for x in xs], "y": [y.tolist() for y in ys]})
        if name in TOKEN_IDS:  # the input dtype citadel must read (the chain's: int32, for its Embedding)
            manifest["models"][-1]["dtypes"] = ["int32"]
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        json.dump(manifest, f)


def read(directory):
    import onnxruntime

    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(directory, "citadel.json")) as f:
        citadel = json.load(f)
    worst = 0.0
    print(f"{'model':14} {'citadel.keras→Keras':>20} {'citadel.onnx→onnxruntime':>25}")
    for entry in manifest["models"]:
        name = entry["name"]
        xs = [np.asarray(x, np.int32 if name in TOKEN_IDS else np.float32) for x in entry["x"]]
        ours = [np.asarray(y, np.float32) for y in citadel[name]]
        reloaded = keras.saving.load_model(os.path.join(directory, f"{name}.citadel.keras"))
        keras_ys = as_list(reloaded.predict(xs if len(xs) > 1 else xs[0], verbose=0))
        assert len(keras_ys) == len(ours), name
        # citadel's tool writes each output row flat: put it back in Keras's shape (same size).
        ours = [o.reshape(k.shape) for k, o in zip(keras_ys, ours)]
        row = [max(float(np.abs(k - o).max()) for k, o in zip(keras_ys, ours))]
        if entry.get("onnx", True):
            session = onnxruntime.InferenceSession(os.path.join(directory, f"{name}.citadel.onnx"),
                                                   providers=["CPUExecutionProvider"])
            # Token ids travel in float32 in citadel's graphs (docs/DESIGN.md, "Integer inputs").
            feeds = {i.name: x.astype(np.float32) if i.type == "tensor(float)" else x
                     for i, x in zip(session.get_inputs(), xs)}
            onnx_ys = session.run(None, feeds)
            assert len(onnx_ys) == len(ours), name
            row.append(max(float(np.abs(r - o).max()) for r, o in zip(onnx_ys, ours)))
        worst = max(worst, *row)
        onnx_cell = f"{row[1]:>25.2e}" if len(row) > 1 else f"{'(masks: no ONNX export)':>25}"
        print(f"{name:14} {row[0]:>20.2e} {onnx_cell}")
    print(f"largest difference {worst:.2e} (the bar: {BAR:g}; Keras {keras.__version__}, "
          f"onnxruntime {onnxruntime.__version__})")
    return 0 if worst <= BAR else 1


if __name__ == "__main__":
    sys.exit(write(sys.argv[2]) if sys.argv[1] == "write" else read(sys.argv[2]))
