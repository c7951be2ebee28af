"""Writes Keras files the way Keras 3 (and Keras 2) lay them out, with Debian's h5py and
Python's zipfile, never with citadel: good files with the predictions a numpy forward pass
computes straight from their arrays, and hostile files with the error each must get.

  python3 keras_files.py DIR   writes DIR/*.keras, *.h5, *.json and DIR/manifest.json:
  {"good": [{"file", "config"?, "x": [[...]], "y": [[...]], "classes"}],
   "hostile": [{"file", "config"?, "error": "text the refusal must contain"}],
   "spinning": [the same, for files that keep libhdf5 busy until its CPU limit]}
"""
import io
import json
import os
import shutil
import struct
import sys
import zipfile
import zlib

import h5py
import numpy as np

RNG = np.random.default_rng(1234)


# --- Keras 3's config objects -------------------------------------------------------------

def policy(name="float32"):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def initializer(name):
    return {"module": "keras.initializers", "class_name": name, "config": {}, "registered_name": None}


def layer(class_name, name, **config):
    config = {"name": name, "trainable": True, "dtype": policy(), **config}
    return {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}


def dense(name, units, activation="linear", use_bias=True):
    return layer("Dense", name, units=units, activation=activation, use_bias=use_bias,
                 kernel_initializer=initializer("GlorotUniform"), bias_initializer=initializer("Zeros"),
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 quantization_config=None)


def conv(name, filters, kernel, strides=(1, 1), padding="valid", activation="linear"):
    return layer("Conv2D", name, filters=filters, kernel_size=list(kernel), strides=list(strides), padding=padding,
                 data_format="channels_last", dilation_rate=[1, 1], groups=1, activation=activation, use_bias=True,
                 kernel_initializer=initializer("GlorotUniform"), bias_initializer=initializer("Zeros"),
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None)


def pool(class_name, name, size, strides=None, padding="valid"):
    return layer(class_name, name, pool_size=list(size), strides=list(strides or size), padding=padding,
                 data_format="channels_last")


def batch_norm(name, epsilon=1e-3):
    return layer("BatchNormalization", name, axis=-1, momentum=0.99, epsilon=epsilon, center=True, scale=True,
                 beta_initializer=initializer("Zeros"), gamma_initializer=initializer("Ones"),
                 moving_mean_initializer=initializer("Zeros"), moving_variance_initializer=initializer("Ones"),
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 synchronized=False, renorm=False, renorm_clipping=None, renorm_momentum=0.99)


def sequential(input_shape, layers, name="sequential"):
    input_layer = {"module": "keras.layers", "class_name": "InputLayer",
                   "config": {"batch_shape": [None, *input_shape], "dtype": "float32", "sparse": False,
                              "ragged": False, "name": "input_layer", "optional": False}, "registered_name": None}
    return {"module": "keras", "class_name": "Sequential",
            "config": {"name": name, "trainable": True, "dtype": policy(), "layers": [input_layer, *layers],
                       "build_input_shape": [None, *input_shape]},
            "registered_name": None, "build_config": {"input_shape": [None, *input_shape]}}


# --- the numpy forward pass, from Keras's definitions ---------------------------------------

def activate(name, z):
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(z))
    if name == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise ValueError(name)


def same_pads(size, kernel, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def windows(x, kernel, strides, padding, fill):
    """(N, OH, OW, KH, KW, C) windows of x (N, H, W, C), padded as Keras pads."""
    if padding == "same":
        (t, b), (left, r) = same_pads(x.shape[1], kernel[0], strides[0]), same_pads(x.shape[2], kernel[1], strides[1])
        x = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=fill)
    oh = (x.shape[1] - kernel[0]) // strides[0] + 1
    ow = (x.shape[2] - kernel[1]) // strides[1] + 1
    out = np.empty((x.shape[0], oh, ow, kernel[0], kernel[1], x.shape[3]), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            out[:, i, j] = x[:, i * strides[0]:i * strides[0] + kernel[0], j * strides[1]:j * strides[1] + kernel[1]]
    return out


def forward(config, weights, x):
    x = x.astype(np.float64)
    for entry in config["config"]["layers"][1:]:
        kind, c = entry["class_name"], entry["config"]
        w = [a.astype(np.float64) for a in weights.get(c["name"], [])]
        if kind == "Dense":
            x = activate(c["activation"], x @ w[0] + (w[1] if c["use_bias"] else 0))
        elif kind == "Conv2D":
            win = windows(x, c["kernel_size"], c["strides"], c["padding"], 0.0)
            x = activate(c["activation"], np.einsum("nijhwc,hwcf->nijf", win, w[0]) + w[1])
        elif kind == "MaxPooling2D":
            x = windows(x, c["pool_size"], c["strides"], c["padding"], -np.inf).max(axis=(3, 4))
        elif kind == "AveragePooling2D":
            # Keras averages over the real pixels only: pad with NaN and skip them.
            x = np.nanmean(windows(x, c["pool_size"], c["strides"], c["padding"], np.nan), axis=(3, 4))
        elif kind == "GlobalAveragePooling2D":
            x = x.mean(axis=(1, 2))
        elif kind == "Flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "BatchNormalization":
            gamma, beta, mean, variance = w
            x = gamma * (x - mean) / np.sqrt(variance + c["epsilon"]) + beta
        elif kind == "Dropout":
            pass
        else:
            raise ValueError(kind)
    return x


# --- files -------------------------------------------------------------------------------

def random_weights(config):
    """Weights of every layer in Keras's variable order, with positive moving variances."""
    shape = config["config"]["layers"][0]["config"]["batch_shape"][1:]
    weights = {}
    for entry in config["config"]["layers"][1:]:
        kind, c = entry["class_name"], entry["config"]
        if kind == "Dense":
            w = [RNG.normal(0, 0.5, (shape[-1], c["units"]))] + ([RNG.normal(0, 0.3, c["units"])] if c["use_bias"] else [])
            shape = [*shape[:-1], c["units"]]
        elif kind == "Conv2D":
            kh, kw = c["kernel_size"]
            w = [RNG.normal(0, 0.4, (kh, kw, shape[-1], c["filters"])), RNG.normal(0, 0.2, c["filters"])]
            shape = conv_shape(shape, c["kernel_size"], c["strides"], c["padding"]) + [c["filters"]]
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            w, shape = [], conv_shape(shape, c["pool_size"], c["strides"], c["padding"]) + [shape[-1]]
        elif kind == "GlobalAveragePooling2D":
            w, shape = [], [shape[-1]]
        elif kind == "Flatten":
            w, shape = [], [int(np.prod(shape))]
        elif kind == "BatchNormalization":
            n = shape[-1]
            w = [RNG.uniform(0.5, 1.5, n), RNG.normal(0, 0.3, n), RNG.normal(0, 0.5, n), RNG.uniform(0.3, 2.0, n)]
        else:
            w = []
        weights[c["name"]] = [np.asarray(a, dtype=np.float32) for a in w]
    return weights


def conv_shape(shape, kernel, strides, padding):
    if padding == "same":
        return [-(-shape[i] // strides[i]) for i in range(2)]
    return [(shape[i] - kernel[i]) // strides[i] + 1 for i in range(2)]


def snake(class_name):
    out = ""
    for i, ch in enumerate(class_name):
        if ch.isupper() and i > 0 and class_name[i - 1].islower():
            out += "_"
        out += ch.lower()
    return out.replace("2_d", "2d")


def keras3_weights(config, weights, tamper=None, store=None):
    """model.weights.h5's bytes: layers/<class in snake case, numbered>/vars/<i>; `store`
    writes each weight (h5py's default, contiguous float32, otherwise)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        used = {}
        for entry in config["config"]["layers"][1:]:
            base = snake(entry["class_name"])
            group = base if base not in used else f"{base}_{used[base] + 1}"
            used[base] = used.get(base, -1) + 1
            vars_group = f.create_group(f"layers/{group}/vars")
            vars_group.attrs["name"] = entry["config"]["name"]
            for i, array in enumerate(weights.get(entry["config"]["name"], [])):
                if store:
                    store(vars_group, i, array)
                else:
                    vars_group.create_dataset(str(i), data=array)
        f.create_group("vars").attrs["name"] = config["config"]["name"]
        if tamper:
            tamper(f)
    return buffer.getvalue()


def keras_archive(path, config, weights_bytes, metadata=None, extra=()):
    metadata = metadata or {"keras_version": "3.15.1", "date_saved": "2026-12-03@09:00:00"}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps(metadata))
        z.writestr("config.json", json.dumps(config))
        if weights_bytes is not None:
            z.writestr("model.weights.h5", weights_bytes)
        for name, data in extra:
            z.writestr(name, data)


def legacy_h5(path, config, weights, weights_only=False, rename=None):
    """Keras 2's .h5: model_weights/<layer>/<layer>/<kernel:0> with layer_names and weight_names."""
    roles = {"Dense": ["kernel", "bias"], "Conv2D": ["kernel", "bias"],
             "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"]}
    with h5py.File(path, "w") as f:
        root = f if weights_only else f.create_group("model_weights")
        if not weights_only:
            f.attrs["model_config"] = json.dumps(config)
            f.attrs["keras_version"] = "2.15.0"
            f.attrs["backend"] = "tensorflow"
        names = [e["config"]["name"] for e in config["config"]["layers"][1:]]
        root.attrs["layer_names"] = np.array([n.encode() for n in names])  # fixed-length, as Keras 2 wrote them
        for entry in config["config"]["layers"][1:]:
            name = entry["config"]["name"]
            group = root.create_group(name)
            arrays = weights.get(name, [])
            labels = [f"{name}/{role}:0" for role in roles.get(entry["class_name"], [])][:len(arrays)]
            if rename:
                labels = [rename(label) for label in labels]
            group.attrs["weight_names"] = np.array([label.encode() for label in labels])
            for label, array in zip(labels, arrays):
                group.create_dataset(label, data=array)


def good_models():
    yield "dense", sequential([8], [dense("dense", 10, "relu"), dense("dense_1", 10, "relu"),
                                    dense("dense_2", 1, "sigmoid")]), ["no", "yes"]
    yield "softmax", sequential([6], [dense("hidden", 16, "tanh"), dense("out", 4, "softmax")]), []
    yield "conv", sequential([10, 10, 2], [conv("conv2d", 4, (3, 3), padding="same", activation="relu"),
                                           pool("MaxPooling2D", "max_pooling2d", (2, 2)),
                                           conv("conv2d_1", 3, (2, 3), activation="elu"),
                                           layer("Flatten", "flatten", data_format="channels_last"),
                                           dense("dense", 3, "softmax")]), []
    yield "batchnorm_dropout", sequential([7], [dense("dense", 12, "relu"), batch_norm("batch_normalization"),
                                                layer("Dropout", "dropout", rate=0.5, seed=None, noise_shape=None),
                                                dense("dense_1", 1)]), []
    yield "pooling", sequential([9, 9, 3], [conv("conv2d", 5, (3, 3), strides=(2, 2), padding="same"),
                                            batch_norm("batch_normalization", epsilon=1e-2),
                                            pool("AveragePooling2D", "average_pooling2d", (2, 2), padding="same"),
                                            layer("GlobalAveragePooling2D", "global_average_pooling2d",
                                                  data_format="channels_last", keepdims=False),
                                            dense("dense", 2, "softmax")]), []


# --- HDF5 storage Keras does not write but h5py can: chunks, filters, other float types ------

def chunked_weights(config, weights):
    """model.weights.h5 in Keras 3's layout with every weight chunked (chunks smaller than the
    weight, so edge chunks are partial), gzip + shuffle + Fletcher-32, the kernels as
    big-endian float64 and the biases contiguous little-endian float64."""
    def store(group, i, array):
        if array.ndim == 2:
            chunks = (max(1, (array.shape[0] + 2) // 3), max(1, (array.shape[1] + 1) // 2))
            group.create_dataset(str(i), data=array.astype(">f8"), chunks=chunks, compression="gzip",
                                 shuffle=True, fletcher32=True)
        else:
            group.create_dataset(str(i), data=array.astype("<f8"))
    return keras3_weights(config, weights, store=store)


def raw_dataset(group, name, shape, chunks, filters, maxshape=None):
    """A chunked float32 dataset made with h5py's low-level calls, so that its filter pipeline
    can be anything (even deflate twice); its chunks are written raw by the caller."""
    space = h5py.h5s.create_simple(shape, maxshape or shape)
    creation = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    creation.set_chunk(chunks)
    for filter_id, flags, values in filters:
        creation.set_filter(filter_id, flags, values)
    return h5py.h5d.create(group.id, name.encode(), h5py.h5t.IEEE_F32LE, space, dcpl=creation)


def repeated_deflate(first_block, block, count, wrapper=True):
    """The deflate stream of first_block followed by count - 1 copies of block, made in
    milliseconds however long the data: each block is compressed after a full flush (which
    forgets the history), so every copy of it compresses to the same bytes, and the checksum
    is extended over the copies arithmetically or by rereading one block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15 if wrapper else -15)
    head = compressor.compress(first_block) + compressor.flush(zlib.Z_FULL_FLUSH)
    copy = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    body = head + copy * (count - 1)
    if not wrapper:
        crc = zlib.crc32(first_block)
        for _ in range(count - 1):
            crc = zlib.crc32(block, crc)
        return body + tail, crc, len(first_block) + len(block) * (count - 1)
    tail = tail[:-4]  # the final empty block, then Adler-32 over the whole data
    adler = zlib.adler32(first_block)
    a, b = adler & 0xFFFF, adler >> 16
    if any(block):
        raise ValueError("only zero blocks are extended arithmetically")
    b = (b + a * len(block) * (count - 1)) % 65521  # zero bytes leave a and add a to b each
    return body + tail + struct.pack(">I", (b << 16) | a)


def chunk_bomb(kernel):
    """The kernel (8, 10) in one chunk of (16384, 16384) floats (1 GiB), deflated twice: a
    few kilobytes on disk."""
    side = 16384
    first = bytearray(1 << 20)  # the first MiB of the chunk holds the kernel's 8 rows
    for r in range(kernel.shape[0]):
        row = kernel[r].astype("<f4").tobytes()
        first[r * side * 4:r * side * 4 + len(row)] = row
    inner = repeated_deflate(bytes(first), bytes(1 << 20), side * side * 4 >> 20)
    return zlib.compress(inner, 9)


def write_zip(path, entries):
    """A zip archive written by hand: [(name, stored bytes, method, crc, inflated size)]
    (what zipfile cannot do: an entry deflated elsewhere, of any length)."""
    out, directory = bytearray(), bytearray()
    for name, data, method, crc, size in entries:
        encoded = name.encode()
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
                             len(encoded), 0)
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size,
                                 len(encoded), 0, 0, 0, 0, 0, len(out)) + encoded
        out += header + encoded + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), len(out), 0)
    with open(path, "wb") as f:
        f.write(bytes(out + directory + end))


def stored(name, data):
    return (name, data, 0, zlib.crc32(data), len(data))


def weights_entry_bomb(path, config, weights_bytes, inflated=512 << 20):
    """A .keras of about 2.4 MB whose model.weights.h5 inflates to 512 MiB at about 210:1 (under
    the 1000:1 ratio): the real weights file, then 4 KiB of noise in every MiB."""
    noise = np.random.default_rng(29).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    block = noise + bytes((1 << 20) - len(noise))
    first = weights_bytes + block[len(weights_bytes):]
    data, crc, size = repeated_deflate(first, block, inflated >> 20, wrapper=False)
    metadata = json.dumps({"keras_version": "3.15.1"}).encode()
    write_zip(path, [stored("metadata.json", metadata), stored("config.json", json.dumps(config).encode()),
                     ("model.weights.h5", data, 8, crc, size)])


# --- models citadel does not import yet (issue 32: the refusal names them first) ------------

def functional(config):
    """The Keras 3 config of a Functional model of the same layers, as keras.Model(inputs,
    outputs).to_json() writes it."""
    layers = json.loads(json.dumps(config["config"]["layers"]))
    previous = None
    for entry in layers:
        entry["name"] = entry["config"]["name"]
        shape = entry["config"].get("batch_shape", [None, 8])
        entry["inbound_nodes"] = [] if previous is None else [{"args": [{
            "class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": [previous, 0, 0]}}], "kwargs": {}}]
        previous = entry["name"]
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "functional", "trainable": True, "layers": layers,
                       "input_layers": [[layers[0]["name"], 0, 0]], "output_layers": [[previous, 0, 0]]},
            "build_config": {"input_shape": None}}


def embedding_lstm():
    """Embedding -> a recurrent layer citadel lacks (ConvLSTM1D, in an LSTM's place) -> Dense over 20
    token ids (an int32 input), as Keras 3 writes it."""
    input_layer = {"module": "keras.layers", "class_name": "InputLayer",
                   "config": {"batch_shape": [None, 20], "dtype": "int32", "sparse": False, "ragged": False,
                              "name": "input_layer", "optional": False}, "registered_name": None}
    embedding = layer("Embedding", "embedding", input_dim=1000, output_dim=16,
                      embeddings_initializer=initializer("RandomUniform"), embeddings_regularizer=None,
                      embeddings_constraint=None, mask_zero=False)
    lstm = layer("ConvLSTM1D", "lstm", units=8, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 dropout=0.0, recurrent_dropout=0.0, seed=None)
    config = sequential([20], [embedding, lstm, dense("dense", 1, "sigmoid")])
    config["config"]["layers"][0] = input_layer
    weights = {"embedding": [RNG.normal(0, 0.1, (1000, 16)).astype(np.float32)],
               "lstm": [RNG.normal(0, 0.1, (16, 32)).astype(np.float32), RNG.normal(0, 0.1, (8, 32)).astype(np.float32),
                        np.zeros(32, np.float32)],
               "dense": [RNG.normal(0, 0.1, (8, 1)).astype(np.float32), np.zeros(1, np.float32)]}
    return config, weights


def write_all(directory):
    manifest = {"good": [], "hostile": []}

    def good(file, config_model, weights, x, classes, config_file=None):
        entry = {"file": file, "x": x.tolist(), "y": forward(config_model, weights, x).tolist(), "classes": classes}
        if config_file:
            entry["config"] = config_file
        manifest["good"].append(entry)

    def hostile(file, error, config_file=None):
        entry = {"file": file, "error": error}
        if config_file:
            entry["config"] = config_file
        manifest["hostile"].append(entry)

    at = lambda name: os.path.join(directory, name)  # noqa: E731
    models = {}
    for name, config, classes in good_models():
        weights = random_weights(config)
        models[name] = (config, weights)
        shape = config["config"]["layers"][0]["config"]["batch_shape"][1:]
        x = RNG.normal(0, 1, (5, *shape)).astype(np.float32)
        keras_archive(at(f"{name}.keras"), config, keras3_weights(config, weights))
        good(f"{name}.keras", config, weights, x, classes)
    config, weights = models["dense"]
    x = RNG.normal(0, 1, (4, 8)).astype(np.float32)
    legacy_h5(at("legacy.h5"), config, weights)
    good("legacy.h5", config, weights, x, [])
    legacy_h5(at("legacy.weights.h5"), config, weights, weights_only=True)
    with open(at("dense.json"), "w") as f:
        json.dump(config, f)
    good("legacy.weights.h5", config, weights, x, [], "dense.json")
    with open(at("dense.weights.h5"), "wb") as f:
        f.write(keras3_weights(config, weights))
    good("dense.weights.h5", config, weights, x, [], "dense.json")
    bn_config, bn_weights = models["batchnorm_dropout"]
    legacy_h5(at("batchnorm_legacy.h5"), bn_config, bn_weights)
    good("batchnorm_legacy.h5", bn_config, bn_weights, RNG.normal(0, 1, (3, 7)).astype(np.float32), [])
    # Chunks (partial at the edges), gzip + shuffle + Fletcher-32, big-endian float64: read
    # by citadel's own filter code, and predicting what the float32 weights compute.
    conv_config, conv_weights = models["conv"]
    keras_archive(at("chunked.keras"), conv_config, chunked_weights(conv_config, conv_weights))
    good("chunked.keras", conv_config, conv_weights, RNG.normal(0, 1, (3, 10, 10, 2)).astype(np.float32), [])
    with open(at("chunked.weights.h5"), "wb") as f:
        f.write(chunked_weights(config, weights))
    good("chunked.weights.h5", config, weights, x, [], "dense.json")

    # The same Dense stack as a Keras 3 Functional model (weights as a Sequential's: the
    # InputLayer's empty group left out).
    keras_archive(at("functional.keras"), functional(config), keras3_weights(config, weights))
    good("functional.keras", config, weights, x, [])

    # --- hostile files: each must be refused with the error named ---
    dense_weights = keras3_weights(config, weights)
    with zipfile.ZipFile(at("duplicate_names.keras"), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", dense_weights)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z.writestr("config.json", json.dumps(sequential([8], [dense("dense", 10, "relu")])))
    hostile("duplicate_names.keras", "two entries of one name")
    keras_archive(at("traversal.keras"), config, dense_weights, extra=[("../../etc/cron.d/x", "* * * * * root id")])
    hostile("traversal.keras", "has a path")
    keras_archive(at("subdirectory.keras"), config, dense_weights, extra=[("assets/../../x", "x")])
    hostile("subdirectory.keras", "has a path")

    def with_layer(extra_layer, index=1):
        changed = json.loads(json.dumps(config))
        changed["config"]["layers"].insert(index, extra_layer)
        return changed

    lambda_layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                    "config": {"name": "lambda", "function": {"class_name": "__lambda__", "config": {
                        "code": "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMIAAAAdABqAQ==", "defaults": None, "closure": None}},
                        "output_shape": None}}
    keras_archive(at("lambda.keras"), with_layer(lambda_layer), dense_weights)
    hostile("lambda.keras", "'Lambda' holds or calls Python code")
    custom = dense("dense", 10, "relu")
    custom["registered_name"] = "my_package>MyDense"
    custom["module"] = None
    custom_config = json.loads(json.dumps(config))
    custom_config["config"]["layers"][1] = custom
    keras_archive(at("custom_object.keras"), custom_config, dense_weights)
    hostile("custom_object.keras", "custom object \"my_package>MyDense\"")
    module_config = json.loads(json.dumps(config))
    module_config["config"]["layers"][1]["config"]["kernel_initializer"] = {
        "module": "os", "class_name": "system", "config": {"command": "id"}, "registered_name": None}
    keras_archive(at("foreign_module.keras"), module_config, dense_weights)
    hostile("foreign_module.keras", "module \"os\" is not Keras's own")
    utils_config = json.loads(json.dumps(config))
    utils_config["config"]["layers"][1]["config"]["activation"] = {
        "module": "keras.utils", "class_name": "get_file", "config": {"origin": "http://x"}, "registered_name": None}
    keras_archive(at("keras_utility.keras"), utils_config, dense_weights)
    hostile("keras_utility.keras", "module \"keras.utils\" is not Keras's own")
    function_config = json.loads(json.dumps(config))
    function_config["config"]["layers"][2]["config"]["activation"] = {
        "module": "builtins", "class_name": "function", "config": "my_activation", "registered_name": "function"}
    keras_archive(at("function_activation.keras"), function_config, dense_weights)
    hostile("function_activation.keras", "'function' holds or calls Python code")

    keras_archive(at("unknown_layer.keras"), with_layer(layer("ConvLSTM2D", "conv_lstm2d", filters=4)), dense_weights)
    hostile("unknown_layer.keras", "layer 'conv_lstm2d' is a Keras ConvLSTM2D layer, which is not supported yet")
    # A Sequential config called Functional: its layers name no calls.
    named_functional = json.loads(json.dumps(config))
    named_functional["class_name"] = "Functional"
    keras_archive(at("functional_keras_module.keras"), named_functional, dense_weights)
    hostile("functional_keras_module.keras", "config.json: layers[0] 'input_layer': 'inbound_nodes' (the layer's "
                                             "calls) is missing")
    lstm_config, lstm_weights = embedding_lstm()
    keras_archive(at("embedding_lstm.keras"), lstm_config, keras3_weights(lstm_config, lstm_weights))
    hostile("embedding_lstm.keras", "config.json: layer 'lstm' is a Keras ConvLSTM1D layer, which is not supported yet")
    half = json.loads(json.dumps(config))
    half["config"]["layers"][2]["config"]["dtype"] = policy("float16")
    keras_archive(at("float16.keras"), half, dense_weights)
    hostile("float16.keras", "dtype policy 'float16' is not supported")

    wrong = dict(weights)
    wrong["dense"] = [np.zeros((8, 9), np.float32), np.zeros(10, np.float32)]
    keras_archive(at("shape_mismatch.keras"), config, keras3_weights(config, wrong))
    hostile("shape_mismatch.keras", "is shaped (8, 9) but the architecture's dense/kernel is (8, 10)")

    def huge(f):  # declared (2^30, 10) floats (40 GB), stored as nothing: chunked with no chunk written
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(1 << 30, 10), dtype="f4", chunks=(1024, 10))
    keras_archive(at("huge_dataset.keras"), config, keras3_weights(config, weights, huge))
    hostile("huge_dataset.keras", "is shaped (1073741824, 10)")
    big = sequential([1 << 16], [dense("dense", 1 << 16), dense("dense_1", 1)])
    keras_archive(at("huge_architecture.keras"), big, keras3_weights(sequential([1], []), {}))
    hostile("huge_architecture.keras", "weights, more than the limit")

    def count(f):
        f["layers/dense/vars"].create_dataset("2", data=np.zeros(3, np.float32))
    keras_archive(at("extra_weight.keras"), config, keras3_weights(config, weights, count))
    hostile("extra_weight.keras", "holds 3 weights but layer 'dense' has 2")

    def stranger(f):
        f.create_group("layers/lstm/vars").create_dataset("0", data=np.zeros(3, np.float32))
    keras_archive(at("stranger_layer.keras"), config, keras3_weights(config, weights, stranger))
    hostile("stranger_layer.keras", "layers/lstm, which no layer of the model's config has")

    def renamed(f):
        f["layers/dense_1/vars"].attrs["name"] = "someone_else"
    keras_archive(at("renamed_layer.keras"), config, keras3_weights(config, weights, renamed))
    hostile("renamed_layer.keras", "holds the weights of 'someone_else'")
    nan = dict(weights)
    nan["dense_1"] = [weights["dense_1"][0].copy(), weights["dense_1"][1]]
    nan["dense_1"][0][3, 4] = np.nan
    keras_archive(at("nan_weights.keras"), config, keras3_weights(config, nan))
    hostile("nan_weights.keras", "holds NaN or infinity")

    def as_integers(f):
        data = f["layers/dense/vars/1"][()]
        del f["layers/dense/vars/1"]
        f["layers/dense/vars"].create_dataset("1", data=data.astype(np.int32))
    keras_archive(at("integer_weights.keras"), config, keras3_weights(config, weights, as_integers))
    hostile("integer_weights.keras", "is not floating point")

    def external_link(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink("/etc/passwd", "/x")
    keras_archive(at("external_link.keras"), config, keras3_weights(config, weights, external_link))
    hostile("external_link.keras", "soft or external link")

    def soft_link(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.SoftLink("/layers/dense_1/vars/0")
    keras_archive(at("soft_link.keras"), config, keras3_weights(config, weights, soft_link))
    hostile("soft_link.keras", "soft or external link")
    # External storage: the dataset's bytes would come from another file on the reader's disk.
    with h5py.File(at("external_storage.weights.h5"), "w") as f:
        for path in ("layers/dense/vars", "layers/dense_1/vars", "layers/dense_2/vars"):
            f.create_group(path)
        f["layers/dense/vars"].create_dataset("0", shape=(8, 10), dtype="f4", external=[("/etc/hostname", 0, 320)])
        for group, arrays in (("dense", weights["dense"][1:]), ("dense_1", weights["dense_1"]),
                              ("dense_2", weights["dense_2"])):
            for i, array in enumerate(arrays, start=1 if group == "dense" else 0):
                f[f"layers/{group}/vars"].create_dataset(str(i), data=array)
    hostile("external_storage.weights.h5", "keeps its data in an external file", "dense.json")

    keras_archive(at("missing_weights.keras"), config, None)
    hostile("missing_weights.keras", "has no model.weights.h5")
    keras_archive(at("not_hdf5.keras"), config, b"\x89HDF\r\n\x1a\n" + bytes(RNG.integers(0, 256, 2000, np.uint8)))
    hostile("not_hdf5.keras", "not a readable HDF5 file")
    keras_archive(at("keras2_metadata.keras"), config, dense_weights, metadata={"keras_version": "2.12.0"})
    hostile("keras2_metadata.keras", "Keras version '2.12.0'")
    with open(at("dense.keras"), "rb") as f:
        whole = f.read()
    with open(at("truncated.keras"), "wb") as f:
        f.write(whole[: len(whole) // 2])
    hostile("truncated.keras", "not a valid zip archive")
    hostile("legacy.weights.h5", "give the model's config")
    legacy_h5(at("legacy_renamed.h5"), config, weights, rename=lambda label: label.replace("kernel", "gamma"))
    hostile("legacy_renamed.h5", "where the architecture has dense/kernel")

    # Compression bombs: 10 GB declared in a few kB (zip64 sizes patched), and a real deflate
    # bomb (zeros inflating 1000 to 1).
    write_declared_bomb(at("zip_bomb.keras"), config, 10 * 10**9)
    hostile("zip_bomb.keras", "declares 10000000000 bytes")
    write_declared_bomb(at("config_bomb.keras"), config, 3 * 10**9, target="config.json")  # under 4 GiB
    hostile("config_bomb.keras", "entry 'config.json' declares 3000000000 bytes, more than the limit of 16777216")
    # (for an architecture of 16 M weights, whose plan allows a 64 MiB weights entry)
    with zipfile.ZipFile(at("deflate_bomb.keras"), "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(sequential([4096], [dense("dense", 4096)])))
        z.writestr("model.weights.h5", bytes(64 << 20), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    hostile("deflate_bomb.keras", "a compression bomb?")
    with zipfile.ZipFile(at("many_entries.keras"), "w") as z:
        for i in range(100):
            z.writestr(f"entry{i}", "x")
    hostile("many_entries.keras", "holds 100 entries")

    # Decompression bombs inside HDF5 (issue 29, item 2), each refused before it is inflated.
    def bomb_kernel(make):
        def tamper(f):
            del f["layers/dense/vars/0"]
            make(f["layers/dense/vars"], weights["dense"][0])
        return tamper

    def one_huge_chunk(group, kernel):  # 24 kB: (8, 10) in one 1 GiB chunk, deflated twice
        dataset = raw_dataset(group, "0", (8, 10), (16384, 16384), [(1, 0, (9,)), (1, 0, (9,))],
                              maxshape=(h5py.h5s.UNLIMITED, h5py.h5s.UNLIMITED))
        dataset.write_direct_chunk((0, 0), chunk_bomb(kernel))
    keras_archive(at("chunk_bomb.keras"), config, keras3_weights(config, weights, bomb_kernel(one_huge_chunk)))
    hostile("chunk_bomb.keras", "layers/dense/vars/0 is stored in chunks of 268435456 values, more than its 80")

    def deflated_twice(group, kernel):  # a chunk of the right size, deflated twice
        dataset = raw_dataset(group, "0", (8, 10), (8, 10), [(1, 0, (9,)), (1, 0, (9,))])
        dataset.write_direct_chunk((0, 0), zlib.compress(zlib.compress(kernel.astype("<f4").tobytes())))
    keras_archive(at("deflated_twice.keras"), config, keras3_weights(config, weights, bomb_kernel(deflated_twice)))
    hostile("deflated_twice.keras", "is deflated more than once")

    def inflates_past(group, kernel):  # its 320-byte chunk's stream inflates to 64 MiB
        dataset = raw_dataset(group, "0", (8, 10), (8, 10), [(1, 0, (6,))])
        dataset.write_direct_chunk((0, 0), repeated_deflate(kernel.astype("<f4").tobytes() + bytes((1 << 20) - 320),
                                                            bytes(1 << 20), 64))
    keras_archive(at("inflates_past.keras"), config, keras3_weights(config, weights, bomb_kernel(inflates_past)))
    hostile("inflates_past.keras", "layers/dense/vars/0: a chunk inflates past its 320 bytes")

    def missing_chunks(group, kernel):  # 4 chunks planned, 1 written: the rest would read as zeros
        dataset = raw_dataset(group, "0", (8, 10), (4, 5), [])
        dataset.write_direct_chunk((0, 0), np.ascontiguousarray(kernel[:4, :5]).astype("<f4").tobytes())
    keras_archive(at("missing_chunks.keras"), config, keras3_weights(config, weights, bomb_kernel(missing_chunks)))
    hostile("missing_chunks.keras", "layers/dense/vars/0 stores 1 chunks where its shape takes 4")

    def foreign_filter(group, kernel):  # an optional filter libhdf5 would look for as a plugin
        dataset = raw_dataset(group, "0", (8, 10), (8, 10), [(32001, 1, ())])
        dataset.write_direct_chunk((0, 0), kernel.astype("<f4").tobytes())
    keras_archive(at("foreign_filter.keras"), config, keras3_weights(config, weights, bomb_kernel(foreign_filter)))
    hostile("foreign_filter.keras", "is stored through filter 32001")
    # A chunk whose Fletcher-32 checksum no longer holds (one byte of its data changed).
    image = bytearray(chunked_weights(config, weights))
    with h5py.File(io.BytesIO(bytes(image)), "r") as f:
        chunk = f["layers/dense/vars/0"].id.get_chunk_info(0)
    image[chunk.byte_offset + 5] ^= 0x40
    with open(at("checksum_mismatch.weights.h5"), "wb") as f:
        f.write(bytes(image))
    hostile("checksum_mismatch.weights.h5", "a chunk fails its Fletcher-32 checksum", "dense.json")
    # 2.4 MB whose weights entry inflates to 512 MiB, more than the plan's 211 weights allow.
    weights_entry_bomb(at("weights_entry_bomb.keras"), config, dense_weights)
    hostile("weights_entry_bomb.keras", "entry 'model.weights.h5' declares 536870912 bytes, more than the limit of")

    # Keras HDF5 files with 4 to 6 bytes changed (found by mutate_hdf5.py): libhdf5 crashes in
    # H5HG_read (an out-of-bounds memcpy from a global heap object) or spins in it. Whether an
    # out-of-bounds read faults depends on what is mapped past the heap object (the child
    # inherits its parent's memory), so the refusal says "the HDF5 reader … crashed" almost
    # always, and once in a while reports whatever the reader made of the bytes it read (seen
    # in CI: "legacy_heap_read.h5: model_config: not valid JSON"): either way it is refused
    # naming the file, which is what is expected here (the sandbox tests check the crash
    # message with a deterministic crash).
    crashes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hdf5_crashes")
    for name in ("legacy_heap_memcpy.h5", "legacy_heap_read.h5"):
        shutil.copy(os.path.join(crashes, name), at(name))
        hostile(name, name + ": ")
    shutil.copy(os.path.join(crashes, "weights_heap_memcpy.weights.h5"), at("weights_heap_memcpy.weights.h5"))
    hostile("weights_heap_memcpy.weights.h5", "weights_heap_memcpy.weights.h5: ", "dense.json")
    with open(os.path.join(crashes, "weights_heap_memcpy.weights.h5"), "rb") as f:
        keras_archive(at("weights_heap_memcpy.keras"), config, f.read())
    hostile("weights_heap_memcpy.keras", "model.weights.h5: ")
    shutil.copy(os.path.join(crashes, "legacy_heap_spin.h5"), at("legacy_heap_spin.h5"))
    # Stopped at its CPU limit, or at the wall-clock deadline when the machine is too busy to
    # give it that much CPU first: either way the error says so.
    manifest["spinning"] = [{"file": "legacy_heap_spin.h5", "error": "and was stopped; refused"}]

    with open(at("manifest.json"), "w") as f:
        json.dump(manifest, f)


def write_declared_bomb(path, config, declared, target="model.weights.h5"):
    """A stored `target` entry of 16 bytes whose zip64 headers declare `declared` bytes, in
    its local header and in the central directory alike (as a consistent bomb would)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        if target != "config.json":
            z.writestr("config.json", json.dumps(config))
        with z.open(target, "w", force_zip64=True) as entry:
            entry.write(b"\x89HDF\r\n\x1a\n" + bytes(8))
        z.filelist[-1].file_size = declared  # the central directory is written from this at close
    data = bytearray(open(path, "rb").read())
    # The local header's zip64 extra field (tag 1): its first value is the inflated size.
    name = target.encode()
    at = data.find(name)
    if data[at + len(name):at + len(name) + 2] == b"\x01\x00":
        struct.pack_into("<Q", data, at + len(name) + 4, declared)
        # The 32-bit sizes (at 18 and 22 from the header's start, 30 bytes before the name)
        # say "see zip64", as they must for a size past 4 GiB.
        struct.pack_into("<II", data, at - 30 + 18, 0xFFFFFFFF, 0xFFFFFFFF)
    open(path, "wb").write(bytes(data))


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    write_all(sys.argv[1])
