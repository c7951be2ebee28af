"""Functional Keras models written the way Keras 3 (and Keras 2) lay them out, with Debian's
h5py, never with citadel or Keras: configs as keras.Model(inputs, outputs).to_json() writes
them (layers listed in the order Keras lists them, which is the order it numbers their
weight groups in), weights in Keras 3's layout (InputLayers and merge layers with empty vars
groups, nested models' layers under <model>/layers/) and Keras 2's (.h5: a nested model's
weights listed trainable ones first), and outputs from a numpy evaluation of the graph.

  python3 keras_graph_files.py DIR   writes DIR/* and DIR/manifest.json:
  {"graphs": [{"file", "config"?, "x": [one array per input], "y": [one per output]}],
   "hostile": [{"file", "error": "text the refusal must contain"}]}
"""
import io
import json
import os
import sys

import h5py
import numpy as np

import keras_files as kf

RNG = np.random.default_rng(30)


# --- Keras 3's Functional config --------------------------------------------------------

def t(layer_name, node=0, index=0):
    """A reference to a call's output, as Keras 3 writes it in inbound_nodes."""
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None, "dtype": "float32", "keras_history": [layer_name, node, index]}}


def input_layer(name, shape):
    return {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "name": name,
            "config": {"batch_shape": [None, *shape], "dtype": "float32", "sparse": False, "ragged": False,
                       "name": name, "optional": False}, "inbound_nodes": []}


def call(entry, *calls):
    """A layer object with its calls: each a reference, or a list of them (a merge)."""
    entry = json.loads(json.dumps(entry))
    entry["name"] = entry["config"]["name"]
    entry["inbound_nodes"] = [{"args": [c], "kwargs": {}} for c in calls]
    return entry


def functional(name, layers, inputs, outputs):
    """inputs, outputs: layer names (one → written unlisted, as Keras writes Model(x, y))."""
    def ends(names):
        refs = [[n, 0, 0] for n in names]
        return refs[0] if len(refs) == 1 else refs
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": name, "trainable": True, "layers": layers, "input_layers": ends(inputs),
                       "output_layers": ends(outputs)}, "build_config": {"input_shape": None}}


def nested(model, *calls):
    """A model used as a layer of another: its config object, named and called (Keras
    records the masks of its call: none, for each input)."""
    entry = json.loads(json.dumps(model))
    entry["name"] = entry["config"]["name"]
    entry["inbound_nodes"] = [{"args": [c], "kwargs": {"mask": [None] * len(c) if isinstance(c, list) else None}}
                              for c in calls]
    return entry


def merge(class_name, name, **config):
    return kf.layer(class_name, name, **config)


def activation(name, kind):
    return kf.layer("Activation", name, activation=kind)


# --- the numpy evaluation, from Keras's definitions of each layer -------------------------

def l2_normalize(x, axis):
    return x / np.sqrt(np.maximum((x * x).sum(axis=axis, keepdims=True), 1e-12))


def batch_dot(a, b, axes, normalize):
    """keras.layers.Dot: per example, the sum over axes[0] of a times axes[1] of b; inputs of
    one or two axes besides the batch; (N, 1) for two vectors."""
    if normalize:
        a, b = l2_normalize(a, axes[0]), l2_normalize(b, axes[1])
    a = np.moveaxis(a, axes[0], -1).reshape(a.shape[0], -1, a.shape[axes[0]])
    b = np.moveaxis(b, axes[1], -1).reshape(b.shape[0], -1, b.shape[axes[1]])
    out = np.einsum("nid,njd->nij", a, b)
    rows, cols = out.shape[1], out.shape[2]
    return out.reshape(out.shape[0], -1) if rows == 1 or cols == 1 else out


def make_weights(kind, c, x):
    """Random weights for a layer first called on x, in Keras's variable order."""
    if kind == "Dense":
        w = [RNG.normal(0, 0.5, (x.shape[-1], c["units"]))]
        return w + ([RNG.normal(0, 0.3, c["units"])] if c["use_bias"] else [])
    if kind == "Conv2D":
        kh, kw = c["kernel_size"]
        return [RNG.normal(0, 0.4, (kh, kw, x.shape[-1], c["filters"])), RNG.normal(0, 0.2, c["filters"])]
    if kind == "BatchNormalization":
        n = x.shape[-1]
        return [RNG.uniform(0.5, 1.5, n), RNG.normal(0, 0.3, n), RNG.normal(0, 0.5, n), RNG.uniform(0.3, 2.0, n)]
    return []


def apply(kind, c, w, xs):
    x = xs[0]
    if kind == "Add":
        return sum(xs[1:], xs[0])
    if kind == "Subtract":
        return xs[0] - xs[1]
    if kind == "Multiply":
        out = xs[0]
        for v in xs[1:]:
            out = out * v
        return out
    if kind == "Average":
        return sum(xs[1:], xs[0]) / len(xs)
    if kind == "Maximum":
        return np.maximum.reduce(xs)
    if kind == "Minimum":
        return np.minimum.reduce(xs)
    if kind == "Concatenate":
        return np.concatenate(xs, axis=c["axis"])
    if kind == "Dot":
        axes = c["axes"] if isinstance(c["axes"], list) else [c["axes"], c["axes"]]
        return batch_dot(xs[0], xs[1], axes, c.get("normalize", False))
    if kind == "Activation":
        return kf.activate(c["activation"], x)
    if kind == "Reshape":
        return x.reshape(x.shape[0], *c["target_shape"])
    if kind == "GlobalAveragePooling2D":
        return x.mean(axis=(1, 2))
    # The layers of Sequential models: through keras_files.py's forward pass.
    return kf.forward({"config": {"layers": [None, {"class_name": kind, "config": c}]}}, {c["name"]: w}, x)


def run(model, weights, inputs):
    """The outputs of a Sequential or Functional config for a list of inputs; weights: a
    dict by layer name (a nested model's: a dict of its own), made when first needed."""
    entries = model["config"]["layers"]
    if model["class_name"] == "Sequential":
        x = inputs[0]
        for entry in entries:
            if entry["class_name"] != "InputLayer":
                x = run_entry(entry, weights, [x])[0]
        return [x]
    config = model["config"]
    ends = lambda refs: [refs] if isinstance(refs[0], str) else refs  # noqa: E731
    values = {}
    for ref, x in zip(ends(config["input_layers"]), inputs):
        values[(ref[0], 0)] = [x]
    todo = [(e, n) for e in entries for n in range(len(e["inbound_nodes"]))]
    while todo:  # each call once its inputs are there (a shared layer's calls lie apart)
        waiting = []
        for entry, n in todo:
            args = entry["inbound_nodes"][n]["args"][0]
            refs = [r["config"]["keras_history"] for r in (args if isinstance(args, list) else [args])]
            if all((r[0], r[1]) in values for r in refs):
                xs = [values[(r[0], r[1])][r[2]] for r in refs]
                values[(entry["name"], n)] = run_entry(entry, weights, xs)
            else:
                waiting.append((entry, n))
        assert len(waiting) < len(todo), "the graph has a cycle"
        todo = waiting
    return [values[(r[0], r[1])][r[2]] for r in ends(config["output_layers"])]


def run_entry(entry, weights, xs):
    name = entry["name"] if "name" in entry else entry["config"]["name"]
    if entry["class_name"] in ("Sequential", "Functional"):
        return run(entry, weights.setdefault(name, {}), xs)
    if name not in weights:
        weights[name] = [np.asarray(a, np.float32) for a in make_weights(entry["class_name"], entry["config"], xs[0])]
    w = [a.astype(np.float64) for a in weights[name]]
    return [apply(entry["class_name"], entry["config"], w, [x.astype(np.float64) for x in xs])]


# --- files ------------------------------------------------------------------------------

def saved_layers(model):
    """The layers Keras saves, in its order: a Functional model's all (InputLayers too), a
    Sequential model's but its InputLayer."""
    entries = model["config"]["layers"]
    return [e for e in entries if e["class_name"] != "InputLayer"] if model["class_name"] == "Sequential" else entries


def entry_name(entry):
    return entry["name"] if "name" in entry else entry["config"]["name"]


def write_keras3_layers(f, path, model, weights):
    used = {}
    for entry in saved_layers(model):
        base = kf.snake(entry["class_name"])
        group = base if base not in used else f"{base}_{used[base] + 1}"
        used[base] = used.get(base, -1) + 1
        name = entry_name(entry)
        variables = f.create_group(f"{path}/{group}/vars")
        variables.attrs["name"] = name
        if entry["class_name"] in ("Sequential", "Functional"):
            write_keras3_layers(f, f"{path}/{group}/layers", entry, weights.get(name, {}))
        else:
            for i, array in enumerate(weights.get(name, [])):
                variables.create_dataset(str(i), data=array)


def keras3_graph_weights(model, weights, tamper=None):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("layers")
        write_keras3_layers(f, "layers", model, weights)
        f.create_group("vars").attrs["name"] = model["config"]["name"]
        if tamper:
            tamper(f)
    return buffer.getvalue()


ROLES = {"Dense": ["kernel", "bias"], "Conv2D": ["kernel", "bias"],
         "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"]}
TRAINABLE = {"kernel", "bias", "gamma", "beta"}


def legacy_weights(entry, weights, scope):
    """[(label, array, trainable)] of a layer, or of every layer of a nested model in its order."""
    name = entry_name(entry)
    if entry["class_name"] in ("Sequential", "Functional"):
        out = []
        for inner in saved_layers(entry):
            out += legacy_weights(inner, weights.get(name, {}), f"{scope}{name}/")
        return out
    return [(f"{scope}{name}/{role}", array, role in TRAINABLE)
            for role, array in zip(ROLES.get(entry["class_name"], []), weights.get(name, []))]


def legacy_graph_h5(path, model, weights):
    """Keras 2's .h5 of a Functional model (config in Keras 2's form): each top-level layer's
    group lists its weights, a nested model's trainable ones first (layer.trainable_weights +
    layer.non_trainable_weights)."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(as_keras2(model))
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        root = f.create_group("model_weights")
        layers = saved_layers(model)
        root.attrs["layer_names"] = np.array([entry_name(e).encode() for e in layers])
        for entry in layers:
            group = root.create_group(entry_name(entry))
            listed = legacy_weights(entry, weights, "")
            listed = [w for w in listed if w[2]] + [w for w in listed if not w[2]]
            labels = [label if entry["class_name"] in ("Sequential", "Functional") else label + ":0"
                      for label, _, _ in listed]
            group.attrs["weight_names"] = np.array([label.encode() for label in labels])
            for label, (_, array, _) in zip(labels, listed):
                group.create_dataset(label, data=array)


def as_keras2(model):
    """A Keras 3 config in Keras 2's form: no modules, inbound nodes as lists of
    [layer, node, tensor, {}], InputLayers with batch_input_shape, dtypes as names."""
    def convert(entry):
        out = {"class_name": entry["class_name"], "config": json.loads(json.dumps(entry["config"]))}
        out["config"].pop("dtype", None)
        if entry["class_name"] == "InputLayer":
            out["config"]["batch_input_shape"] = out["config"].pop("batch_shape")
            out["config"].pop("optional", None)
        if entry["class_name"] in ("Sequential", "Functional"):
            out["config"]["layers"] = [convert(e) for e in entry["config"]["layers"]]
        if "inbound_nodes" in entry:
            out["name"] = entry["name"]
            nodes = []
            for node in entry["inbound_nodes"]:
                args = node["args"][0]
                refs = args if isinstance(args, list) else [args]
                nodes.append([r["config"]["keras_history"] + [{}] for r in refs])
            out["inbound_nodes"] = nodes
        return out
    converted = convert(model)
    if model["class_name"] == "Functional":
        for key in ("input_layers", "output_layers"):
            refs = model["config"][key]
            converted["config"][key] = [refs] if isinstance(refs[0], str) else refs
    converted["keras_version"] = "2.15.0"
    converted["backend"] = "tensorflow"
    return converted


# --- the models -------------------------------------------------------------------------

def residual():
    """x → Dense → Add([x, ·]) → Dense(softmax): a residual block."""
    return functional("residual", [
        input_layer("input_layer", [6]),
        call(kf.dense("dense", 6, "relu"), t("input_layer")),
        call(merge("Add", "add"), [t("input_layer"), t("dense")]),
        call(kf.dense("dense_1", 3, "softmax"), t("add")),
    ], ["input_layer"], ["dense_1"])


def two_inputs_two_outputs():
    """Two inputs, a shared layer called on both, two outputs: listed as Keras 3.15 lists
    keras.Model([a, b], [cls, amount]) (the input b after the residual add: Keras orders by
    depth from the outputs)."""
    return functional("two", [
        input_layer("a", [4]),
        call(kf.dense("dense", 4, "relu"), t("a")),
        call(merge("Add", "add"), [t("a"), t("dense")]),
        input_layer("b", [4]),
        call(kf.dense("shared", 3), t("add"), t("b")),
        call(merge("Concatenate", "concatenate", axis=-1), [t("shared", 0), t("shared", 1)]),
        call(merge("Multiply", "multiply"), [t("shared", 0), t("shared", 1)]),
        call(kf.dense("cls", 2, "softmax"), t("concatenate")),
        call(kf.dense("amount", 1), t("multiply")),
    ], ["a", "b"], ["cls", "amount"])


def every_merge():
    """Every merge layer on two inputs, their outputs concatenated into one Dense; listed as
    Keras 3.15 lists it (the matrix product's reshapes first: they are deepest)."""
    merges = [merge("Add", "add"), merge("Subtract", "subtract"), merge("Multiply", "multiply"),
              merge("Average", "average"), merge("Maximum", "maximum"), merge("Minimum", "minimum")]
    layers = [input_layer("a", [4]), input_layer("b", [4]),
              call(kf.layer("Reshape", "reshape", target_shape=[2, 2]), t("a")),
              call(kf.layer("Reshape", "reshape_1", target_shape=[2, 2]), t("b")),
              call(merge("Dot", "dot_matrix", axes=[2, 1], normalize=False), [t("reshape"), t("reshape_1")])]
    layers += [call(m, [t("a"), t("b")]) for m in merges]
    layers += [call(merge("Dot", "dot", axes=1, normalize=False), [t("a"), t("b")]),
               call(merge("Dot", "cosine", axes=1, normalize=True), [t("a"), t("b")]),
               call(kf.layer("Flatten", "flatten", data_format="channels_last"), t("dot_matrix")),
               call(merge("Concatenate", "concatenate", axis=-1),
                    [t(m["config"]["name"]) for m in merges] + [t("dot"), t("cosine"), t("flatten")]),
               call(kf.dense("dense", 2, "softmax"), t("concatenate"))]
    return functional("merges", layers, ["a", "b"], ["dense"])


def small_resnet():
    """A residual block of convolutions with BatchNormalization, as a ResNet's."""
    return functional("resnet", [
        input_layer("image", [6, 6, 2]),
        call(kf.conv("conv2d", 4, (3, 3), padding="same"), t("image")),
        call(kf.batch_norm("batch_normalization"), t("conv2d")),
        call(activation("activation", "relu"), t("batch_normalization")),
        call(kf.conv("conv2d_1", 4, (3, 3), padding="same"), t("activation")),
        call(kf.batch_norm("batch_normalization_1"), t("conv2d_1")),
        call(merge("Add", "add"), [t("activation"), t("batch_normalization_1")]),
        call(activation("activation_1", "relu"), t("add")),
        call(kf.layer("GlobalAveragePooling2D", "global_average_pooling2d", data_format="channels_last",
                      keepdims=False), t("activation_1")),
        call(kf.dense("dense", 3, "softmax"), t("global_average_pooling2d")),
    ], ["image"], ["dense"])


def block():
    return kf.sequential([6], [kf.dense("dense_1", 5, "relu"), kf.batch_norm("batch_normalization"),
                               kf.dense("dense_2", 6)], name="block")


def nested_sequential():
    """A Sequential block (Dense, BatchNormalization, Dense) called twice inside a Functional
    model: once on the input, once on the residual sum; its weights shared."""
    return functional("outer", [
        input_layer("input_layer", [6]),
        nested(block(), t("input_layer"), t("add")),
        call(merge("Add", "add"), [t("input_layer"), t("block", 0)]),
        call(kf.dense("dense", 1), t("block", 1)),
    ], ["input_layer"], ["dense"])


def nested_functional():
    """A Functional model of two inputs used as a layer, its two outputs read apart."""
    inner = functional("inner", [
        input_layer("p", [3]),
        call(kf.dense("dense", 3, "tanh"), t("p")),
        input_layer("q", [3]),
        call(merge("Add", "add"), [t("dense"), t("q")]),
        call(kf.dense("dense_1", 2), t("add")),
    ], ["p", "q"], ["add", "dense_1"])
    return functional("outer", [
        input_layer("x", [3]), input_layer("y", [3]),
        nested(inner, [t("x"), t("y")]),
        call(merge("Concatenate", "concatenate", axis=-1), [t("inner", 0, 0), t("inner", 0, 1)]),
        call(kf.dense("dense", 1, "sigmoid"), t("concatenate")),
    ], ["x", "y"], ["dense"])


def deep_chain(depth):
    """An input, `depth` - 2 relu activations in a chain, and a Dense: a graph as deep as
    the layer limit allows."""
    layers = [input_layer("input_layer", [3])]
    previous = "input_layer"
    for i in range(depth - 2):
        name = f"activation_{i}"
        layers.append(call(activation(name, "relu"), t(previous)))
        previous = name
    layers.append(call(kf.dense("dense", 2), t(previous)))
    return functional("deep", layers, ["input_layer"], ["dense"])


def wide_fan_out(width):
    """One input read by `width` activations, all added together: a wide fan-out and merge."""
    layers = [input_layer("input_layer", [3])]
    layers += [call(activation(f"activation_{i}", "tanh" if i % 2 else "relu"), t("input_layer"))
               for i in range(width)]
    layers.append(call(merge("Add", "add"), [t(f"activation_{i}") for i in range(width)]))
    layers.append(call(kf.dense("dense", 2), t("add")))
    return functional("wide", layers, ["input_layer"], ["dense"])


def inputs_for(model, rows):
    refs = model["config"]["input_layers"]
    names = [refs[0]] if isinstance(refs[0], str) else [r[0] for r in refs]
    shapes = {e["name"]: e["config"]["batch_shape"][1:] for e in model["config"]["layers"]
              if e["class_name"] == "InputLayer"}
    return [RNG.normal(0, 1, (rows, *shapes[n])).astype(np.float32) for n in names]


def write_graph_files(directory, manifest):
    at = lambda name: os.path.join(directory, name)  # noqa: E731

    def written(name, model, rows=4, formats=("keras",)):
        weights = {}
        xs = inputs_for(model, rows)
        ys = run(model, weights, xs)
        entry = {"x": [x.tolist() for x in xs], "y": [y.tolist() for y in ys]}
        for kind in formats:
            if kind == "keras":
                kf.keras_archive(at(f"{name}.keras"), model, keras3_graph_weights(model, weights))
                manifest["graphs"].append({"file": f"{name}.keras", **entry})
            elif kind == "h5":
                legacy_graph_h5(at(f"{name}.h5"), model, weights)
                manifest["graphs"].append({"file": f"{name}.h5", **entry})
            elif kind == "weights":
                with open(at(f"{name}.weights.h5"), "wb") as f:
                    f.write(keras3_graph_weights(model, weights))
                with open(at(f"{name}.json"), "w") as f:
                    json.dump(model, f)
                manifest["graphs"].append({"file": f"{name}.weights.h5", "config": f"{name}.json", **entry})
        return weights

    written("residual", residual(), formats=("keras", "h5", "weights"))
    written("two_inputs_two_outputs", two_inputs_two_outputs(), formats=("keras", "h5", "weights"))
    written("every_merge", every_merge())
    written("small_resnet", small_resnet(), rows=3, formats=("keras", "h5"))
    written("nested_sequential", nested_sequential(), formats=("keras", "h5"))
    written("nested_functional", nested_functional(), formats=("keras", "h5"))
    written("deep_chain", deep_chain(10_000), rows=2)
    written("wide_fan_out", wide_fan_out(2_000), rows=2)

    # Refused for their configs, before any weight is read.
    some_weights = kf.keras3_weights(kf.sequential([1], []), {})

    def hostile(file, model, error):
        kf.keras_archive(at(file), model, some_weights)
        manifest["hostile"].append({"file": file, "error": error})

    model = residual()
    model["config"]["layers"][3]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "ghost"
    hostile("graph_missing_layer.keras", model, "layers[3] 'dense_1': inbound_nodes[0]: refers to a layer 'ghost' "
                                                "that model 'residual' does not have")
    model = residual()  # dense reads dense_1, which reads add, which reads dense
    model["config"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "dense_1"
    model["config"]["output_layers"] = ["add", 0, 0]
    hostile("graph_cycle.keras", model, "its inputs form a cycle")
    model = residual()  # a layer reading its own output
    model["config"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "dense"
    hostile("graph_self_loop.keras", model, "layers[1] 'dense': its inputs form a cycle")
    model = residual()
    model["config"]["layers"][3]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][1] = 1
    hostile("graph_missing_call.keras", model, "refers to call 1 of layer 'add', which is called 1 time")
    model = residual()
    model["config"]["layers"][3]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][2] = 1
    hostile("graph_missing_output.keras", model, "refers to output 1 of layer 'add', which has 1")
    model = residual()
    model["config"]["layers"].insert(3, call(kf.dense("stray", 2), t("add")))
    hostile("graph_unused_layer.keras", model, "layers[3] 'stray': leads to no output of model 'residual'")
    model = nested_sequential()
    model["config"]["layers"][1]["inbound_nodes"][1]["args"][0]["config"]["keras_history"][0] = "nowhere"
    hostile("nested_missing_layer.keras", model, "refers to a layer 'nowhere' that model 'outer' does not have")
    model = nested_functional()
    model["config"]["layers"][2]["config"]["layers"][3]["inbound_nodes"][0]["args"][0][1]["config"][
        "keras_history"][0] = "dense_1"
    hostile("nested_cycle.keras", model, "layers[2] 'inner': layers[3] 'add': its inputs form a cycle")
    hostile("too_many_layers.keras", deep_chain(10_001), "more than 10000 layers")
    # 100 calls of a model making 100 calls of a model making 100 calls...: a billion calls
    # once inlined, from a config of a few hundred kilobytes; refused at the 100,001st.
    inner = kf.sequential([3], [activation("activation", "relu")], name="m0")
    for level in range(1, 4):
        chain = [input_layer("input_layer", [3])]
        previous = "input_layer"
        calls = [t(previous)] + [t(f"m{level - 1}", k) for k in range(99)]
        chain.append(nested(inner, *calls))
        inner = functional(f"m{level}", chain, ["input_layer"], [f"m{level - 1}"])
        inner["config"]["output_layers"] = [f"m{level - 1}", 99, 0]
    hostile("nested_call_bomb.keras", inner, "with its nested models inlined, the model makes more than 100000 "
                                             "layer calls; refused")
    deep = kf.sequential([3], [activation("activation", "relu")], name="m0")
    for level in range(1, 18):
        deep = kf.sequential([3], [nested(deep)], name=f"m{level}")
        for entry in deep["config"]["layers"]:
            entry.pop("inbound_nodes", None)
    hostile("nested_too_deep.keras", deep, "models nested more than 16 deep")


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    manifest = {"graphs": [], "hostile": []}
    write_graph_files(sys.argv[1], manifest)
    with open(os.path.join(sys.argv[1], "manifest.json"), "w") as f:
        json.dump(manifest, f)
