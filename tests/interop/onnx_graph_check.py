"""Runs an exported ONNX graph on given inputs and compares its outputs with citadel's: by a
numpy evaluator of the ONNX operators citadel's exporter emits, written from the operator
specification (opsets 13 to 17) and independent of citadel, or (--runtime) by ONNX Runtime.

  onnx_graph_check.py DIR [--runtime]

DIR holds model.onnx, inputs.json ({input name: nested list}) and expected.json ({output
name: nested list}). Prints the largest difference; exits 1 when it passes 1e-5."""
import json
import math
import os
import sys
from functools import reduce

import numpy as np


def attributes(node):
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pool(x, kernel, strides, pads, reduce_window, fill):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=fill)
    oh = (x.shape[2] - kernel[0]) // strides[0] + 1
    ow = (x.shape[3] - kernel[1]) // strides[1] + 1
    out = np.empty((x.shape[0], x.shape[1], oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce_window(x[:, :, i * strides[0]:i * strides[0] + kernel[0],
                                              j * strides[1]:j * strides[1] + kernel[1]])
    return out


def conv(x, w, b, strides, pads, dilations):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    f, _, kh, kw = w.shape
    oh = (x.shape[2] - ((kh - 1) * dilations[0] + 1)) // strides[0] + 1
    ow = (x.shape[3] - ((kw - 1) * dilations[1] + 1)) // strides[1] + 1
    out = np.zeros((x.shape[0], f, oh, ow))
    for y in range(kh):
        for z in range(kw):
            patch = x[:, :, y * dilations[0]:y * dilations[0] + strides[0] * (oh - 1) + 1:strides[0],
                      z * dilations[1]:z * dilations[1] + strides[1] * (ow - 1) + 1:strides[1]]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, y, z])
    return out + (b.reshape(1, -1, 1, 1) if b is not None else 0)


def one_d(op2d, x, kernel, a, *rest):
    # A 1-D Conv or pool (N, C, T) as the 2-D one on (N, C, 1, T): the pads [begin, end] of
    # the steps become [0, begin, 0, end], the strides and dilations (1, s).
    pads = a.get("pads", [0, 0])
    strides = a.get("strides", [1])
    y = op2d(x[:, :, None, :], kernel, [1, strides[0]], [0, pads[0], 0, pads[1]], *rest)
    return y[:, :, 0, :]


def layer_normalization(x, scale, bias, a):
    # ONNX LayerNormalization (opset 17): normalized over the axes from `axis` on.
    axes = tuple(range(a.get("axis", -1) % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * scale
    return y + bias if bias is not None else y


def reduce_axes(op, x, a):
    # ReduceMean / ReduceMax before opset 18: axes an attribute (all axes when absent).
    axes = tuple(int(v) for v in a["axes"]) if "axes" in a else None
    keep = bool(a.get("keepdims", 1))
    return x.mean(axis=axes, keepdims=keep) if op == "ReduceMean" else x.max(axis=axes, keepdims=keep)


def softmax(x, axis):
    z = np.exp(x - x.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)


def recurrent(op, xs, a):
    # ONNX's RNN, GRU and LSTM as the operator pages write them (layout 0: X is (T, N, D)):
    # Y (T, directions, N, H) keeps each step's output at its time, Y_h and Y_c the last.
    x, w, r = xs[0], xs[1], xs[2]
    at = lambda k: xs[k] if len(xs) > k and xs[k] is not None else None
    directions, gates_h, _ = w.shape
    hidden = a["hidden_size"]
    gates = gates_h // hidden
    steps, batch = x.shape[0], x.shape[1]
    b = at(3) if at(3) is not None else np.zeros((directions, 2 * gates_h))
    h0 = at(5) if at(5) is not None else np.zeros((directions, batch, hidden))
    c0 = at(6) if at(6) is not None else np.zeros((directions, batch, hidden))
    if at(4) is not None:
        # sequence_lens: row n runs its first lens[n] steps (a reverse direction from step
        # lens[n] - 1 back); Y is 0 after them, Y_h and Y_c the state after the last one run.
        lens = at(4).astype(np.int64)
        y = np.zeros((steps, directions, batch, hidden))
        y_h, y_c = np.zeros((directions, batch, hidden)), np.zeros((directions, batch, hidden))
        for n, length in enumerate(lens):
            assert 1 <= length <= steps, f"sequence_lens {length} of {steps} steps"
            row = [x[:length, n:n + 1]] + list(xs[1:4]) + [None, h0[:, n:n + 1], c0[:, n:n + 1]]
            yn, hn, cn = recurrent(op, row, a)
            y[:length, :, n:n + 1], y_h[:, n:n + 1], y_c[:, n:n + 1] = yn, hn, cn
        return [y, y_h, y_c]
    functions = {"Tanh": np.tanh, "Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Relu": lambda v: np.maximum(v, 0)}
    per_direction = {"RNN": 1, "GRU": 2, "LSTM": 3}[op]
    text = lambda v: v.decode() if isinstance(v, bytes) else v
    names = [text(n) for n in a.get("activations", [])]
    order = {"forward": [0], "reverse": [1], "bidirectional": [0, 1]}[text(a.get("direction", "forward"))]
    y = np.zeros((steps, directions, batch, hidden))
    y_h, y_c = np.zeros((directions, batch, hidden)), np.zeros((directions, batch, hidden))
    for d, kind in enumerate(order):
        f = [functions[n] for n in names[d * per_direction:(d + 1) * per_direction]]
        wd, rd = w[d].reshape(gates, hidden, -1), r[d].reshape(gates, hidden, hidden)
        wb, rb = b[d, :gates_h].reshape(gates, hidden), b[d, gates_h:].reshape(gates, hidden)
        h, c = h0[d], c0[d]
        for t in (range(steps) if kind == 0 else reversed(range(steps))):
            xt = x[t]
            lin = lambda g, hh: xt @ wd[g].T + hh @ rd[g].T + wb[g] + rb[g]
            if op == "RNN":
                h = f[0](lin(0, h))
            elif op == "GRU":
                z, rr = f[0](lin(0, h)), f[0](lin(1, h))
                if a.get("linear_before_reset", 0):
                    hh = f[1](xt @ wd[2].T + wb[2] + rr * (h @ rd[2].T + rb[2]))
                else:
                    hh = f[1](xt @ wd[2].T + (rr * h) @ rd[2].T + rb[2] + wb[2])
                h = (1 - z) * hh + z * h
            else:  # gates i, o, f, c
                i, o, fg, cc = f[0](lin(0, h)), f[0](lin(1, h)), f[0](lin(2, h)), f[1](lin(3, h))
                c = fg * c + i * cc
                h = o * f[2](c)
            y[t, d] = h
        y_h[d], y_c[d] = h, c
    return [y, y_h, y_c]


def evaluate(path, inputs):
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    onnx.checker.check_model(model)
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    values = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in values.items()}
    for name, x in inputs.items():
        values[name] = x.astype(np.float64)
    erf = np.vectorize(math.erf)
    unary = {"Relu": lambda x: np.maximum(x, 0), "Sigmoid": lambda x: 1 / (1 + np.exp(-x)), "Tanh": np.tanh,
             "Softplus": lambda x: np.log1p(np.exp(x)), "Erf": erf, "Sqrt": np.sqrt, "Identity": lambda x: x,
             "IsNaN": np.isnan}
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "MatMul": np.matmul}
    variadic = {"Max": np.maximum, "Min": np.minimum}
    for node in model.graph.node:
        a = attributes(node)
        xs = [values[name] if name else None for name in node.input]
        op = node.op_type
        if op in unary:
            y = unary[op](xs[0])
        elif op in binary:
            y = binary[op](xs[0], xs[1])
        elif op in variadic:
            y = reduce(variadic[op], xs)
        elif op == "Mean":
            y = sum(xs[1:], xs[0]) / len(xs)
        elif op == "Gemm":
            assert a.get("transA", 0) == 0 and a.get("transB", 0) == 0
            y = a.get("alpha", 1.0) * xs[0] @ xs[1] + (a.get("beta", 1.0) * xs[2] if len(xs) > 2 else 0)
        elif op == "Conv" and xs[0].ndim == 3:
            assert a.get("group", 1) == 1 and a.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            w = xs[1][:, :, None, :]
            dilation = a.get("dilations", [1])[0]
            y = one_d(lambda x, k, s, p, b: conv(x, w, b, s, p, [1, dilation]), xs[0], None, a,
                      xs[2] if len(xs) > 2 else None)
        elif op in ("MaxPool", "AveragePool") and xs[0].ndim == 3:
            assert a.get("dilations", [1]) == [1] and a.get("ceil_mode", 0) == 0
            assert op == "MaxPool" or a.get("count_include_pad", 0) == 0
            kernel = [1, a["kernel_shape"][0]]
            window, fill = ((lambda v: v.max(axis=(2, 3))), -np.inf) if op == "MaxPool" else \
                ((lambda v: np.nanmean(v, axis=(2, 3))), np.nan)
            y = one_d(lambda x, k, s, p: pool(x, k, s, p, window, fill), xs[0], kernel, a)
        elif op == "LayerNormalization":
            y = layer_normalization(xs[0], xs[1], xs[2] if len(xs) > 2 else None, a)
        elif op in ("ReduceMean", "ReduceMax"):
            assert len(xs) == 1, "axes as an input (opset 18)"
            y = reduce_axes(op, xs[0], a)
        elif op == "Conv":
            assert a.get("group", 1) == 1
            y = conv(xs[0], xs[1], xs[2] if len(xs) > 2 else None, a.get("strides", [1, 1]), a.get("pads", [0] * 4),
                     a.get("dilations", [1, 1]))
        elif op == "MaxPool":
            y = pool(xs[0], a["kernel_shape"], a["strides"], a.get("pads", [0] * 4), lambda v: v.max(axis=(2, 3)),
                     -np.inf)
        elif op == "AveragePool":
            assert a.get("count_include_pad", 0) == 0
            y = pool(xs[0], a["kernel_shape"], a["strides"], a.get("pads", [0] * 4),
                     lambda v: np.nanmean(v, axis=(2, 3)), np.nan)
        elif op == "GlobalAveragePool":
            y = xs[0].mean(axis=(2, 3), keepdims=True)
        elif op == "GlobalMaxPool":
            y = xs[0].max(axis=(2, 3), keepdims=True)
        elif op == "BatchNormalization":
            x, scale, bias, mean, var = xs
            shape = (1, -1) + (1,) * (x.ndim - 2)
            y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + a.get("epsilon", 1e-5)) * \
                scale.reshape(shape) + bias.reshape(shape)
        elif op == "Transpose":
            y = np.transpose(xs[0], a["perm"])
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = xs[0].reshape(int(np.prod(xs[0].shape[:axis])), -1)
        elif op == "Reshape":
            y = xs[0].reshape([xs[0].shape[i] if d == 0 else d for i, d in enumerate(xs[1])])
        elif op == "Concat":
            y = np.concatenate(xs, axis=a["axis"])
        elif op == "ReduceSum":
            y = xs[0].sum(axis=tuple(int(v) for v in xs[1]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "Unsqueeze":
            y = xs[0]
            for axis in sorted(int(v) for v in xs[1]):
                y = np.expand_dims(y, axis)
        elif op == "Softmax":
            y = softmax(xs[0], a.get("axis", -1))
        elif op == "Elu":
            y = np.where(xs[0] > 0, xs[0], a.get("alpha", 1.0) * np.expm1(xs[0]))
        elif op == "Selu":
            y = a["gamma"] * np.where(xs[0] > 0, xs[0], a["alpha"] * np.expm1(xs[0]))
        elif op == "LeakyRelu":
            y = np.where(xs[0] >= 0, xs[0], a.get("alpha", 0.01) * xs[0])
        elif op == "Where":
            y = np.where(xs[0], xs[1], xs[2])
        elif op == "Squeeze":
            y = np.squeeze(xs[0], axis=tuple(int(v) for v in xs[1]))
        elif op == "Gather":
            y = np.take(xs[0], xs[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "Cast":
            y = xs[0].astype({1: np.float64, 6: np.int64, 7: np.int64, 9: bool}[a["to"]])
        elif op in ("Equal", "Less", "Greater", "And"):
            y = {"Equal": np.equal, "Less": np.less, "Greater": np.greater, "And": np.logical_and}[op](xs[0], xs[1])
        elif op == "Not":
            y = np.logical_not(xs[0])
        elif op == "CumSum":
            assert not a.get("exclusive", 0) and not a.get("reverse", 0)
            y = np.cumsum(xs[0], axis=int(np.reshape(xs[1], -1)[0]))
        elif op == "Shape":
            y = np.array(xs[0].shape, dtype=np.int64)
        elif op == "ConstantOfShape":
            y = np.full(tuple(int(d) for d in xs[0]), numpy_helper.to_array(a["value"])[0], dtype=np.float64)
        elif op == "Slice":
            index = [slice(None)] * xs[0].ndim
            axes = xs[3] if len(xs) > 3 else range(len(xs[1]))
            steps = xs[4] if len(xs) > 4 else [1] * len(xs[1])
            for start, end, axis, step in zip(xs[1], xs[2], axes, steps):
                index[int(axis)] = slice(int(start), int(end), int(step))
            y = xs[0][tuple(index)]
        elif op in ("RNN", "GRU", "LSTM"):
            for name, value in zip(node.output, recurrent(op, xs, a)):
                if name:
                    values[name] = value
            continue
        else:
            raise NotImplementedError(op)
        values[node.output[0]] = y
    return {output.name: values[output.name] for output in model.graph.output}


def run_runtime(path, inputs):
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    results = session.run(names, {name: x.astype(np.float32) for name, x in inputs.items()})
    return dict(zip(names, results))


def main(directory, runtime):
    with open(os.path.join(directory, "inputs.json")) as f:
        inputs = {name: np.array(rows, dtype=np.float32) for name, rows in json.load(f).items()}
    with open(os.path.join(directory, "expected.json")) as f:
        expected = {name: np.array(rows, dtype=np.float64) for name, rows in json.load(f).items()}
    path = os.path.join(directory, "model.onnx")
    outputs = run_runtime(path, inputs) if runtime else evaluate(path, inputs)
    assert sorted(outputs) == sorted(expected), f"outputs {sorted(outputs)}, expected {sorted(expected)}"
    worst = 0.0
    for name, y in outputs.items():
        assert y.shape == expected[name].shape, f"{name}: shaped {y.shape}, expected {expected[name].shape}"
        worst = max(worst, float(np.abs(y - expected[name]).max()))
    print(f"largest difference {worst:.3g}")
    return 0 if worst <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "--runtime" in sys.argv[2:]))
