"""A numpy evaluator of the ONNX operators citadel's exporter emits, written from the ONNX
operator specification (opset 13), so exported graphs are checked without ONNX Runtime."""
import numpy as np
import onnx
from onnx import numpy_helper


def _attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pool(x, kernel, strides, pads, reduce, fill):
    n, c, h, w = x.shape
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=fill)
    oh = (x.shape[2] - kernel[0]) // strides[0] + 1
    ow = (x.shape[3] - kernel[1]) // strides[1] + 1
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reduce(x[:, :, i * strides[0]:i * strides[0] + kernel[0],
                                       j * strides[1]:j * strides[1] + kernel[1]])
    return out


def _conv(x, w, b, kernel, strides, pads, dilations):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    f, c, kh, kw = w.shape
    span_h, span_w = (kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1
    oh = (x.shape[2] - span_h) // strides[0] + 1
    ow = (x.shape[3] - span_w) // strides[1] + 1
    out = np.zeros((x.shape[0], f, oh, ow))
    for y in range(kh):
        for z in range(kw):
            patch = x[:, :, y * dilations[0]:y * dilations[0] + strides[0] * (oh - 1) + 1:strides[0],
                      z * dilations[1]:z * dilations[1] + strides[1] * (ow - 1) + 1:strides[1]]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, y, z])
    return out + (b.reshape(1, -1, 1, 1) if b is not None else 0)


def run(path, x):
    model = onnx.load(path)
    onnx.checker.check_model(model)
    values = {t.name: numpy_helper.to_array(t).astype(np.float64) if t.data_type == onnx.TensorProto.FLOAT
              else numpy_helper.to_array(t) for t in model.graph.initializer}
    values[model.graph.input[0].name] = x.astype(np.float64)
    erf = np.vectorize(__import__("math").erf)
    for node in model.graph.node:
        a = _attributes(node)
        inputs = [values[name] if name else None for name in node.input]
        op = node.op_type
        if op == "Gemm":
            y = inputs[0] @ inputs[1] + (inputs[2] if len(inputs) > 2 else 0)
        elif op == "Conv":
            y = _conv(inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None, a["kernel_shape"],
                      a.get("strides", [1, 1]), a.get("pads", [0, 0, 0, 0]), a.get("dilations", [1, 1]))
        elif op == "MaxPool":
            y = _pool(inputs[0], a["kernel_shape"], a["strides"], a.get("pads", [0] * 4),
                      lambda v: v.max(axis=(2, 3)), -np.inf)
        elif op == "AveragePool":
            assert a.get("count_include_pad", 0) == 0
            y = _pool(inputs[0], a["kernel_shape"], a["strides"], a.get("pads", [0] * 4),
                      lambda v: np.nanmean(v, axis=(2, 3)), np.nan)
        elif op == "GlobalAveragePool":
            y = inputs[0].mean(axis=(2, 3), keepdims=True)
        elif op == "GlobalMaxPool":
            y = inputs[0].max(axis=(2, 3), keepdims=True)
        elif op == "BatchNormalization":
            x_, scale, bias, mean, var = inputs
            shape = (1, -1) + (1,) * (x_.ndim - 2)
            y = (x_ - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + a.get("epsilon", 1e-5)) * \
                scale.reshape(shape) + bias.reshape(shape)
        elif op == "Transpose":
            y = np.transpose(inputs[0], a["perm"])
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = inputs[0].reshape(int(np.prod(inputs[0].shape[:axis])), -1)
        elif op == "Reshape":
            shape = [inputs[0].shape[i] if d == 0 else d for i, d in enumerate(inputs[1])]
            y = inputs[0].reshape(shape)
        elif op == "Relu":
            y = np.maximum(inputs[0], 0)
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-inputs[0]))
        elif op == "Tanh":
            y = np.tanh(inputs[0])
        elif op == "Softplus":
            y = np.log1p(np.exp(inputs[0]))
        elif op == "Elu":
            y = np.where(inputs[0] > 0, inputs[0], a.get("alpha", 1.0) * np.expm1(inputs[0]))
        elif op == "Selu":
            y = a["gamma"] * np.where(inputs[0] > 0, inputs[0], a["alpha"] * np.expm1(inputs[0]))
        elif op == "LeakyRelu":
            y = np.where(inputs[0] >= 0, inputs[0], a.get("alpha", 0.01) * inputs[0])
        elif op == "Softmax":
            z = inputs[0] - inputs[0].max(axis=a.get("axis", -1), keepdims=True)
            y = np.exp(z) / np.exp(z).sum(axis=a.get("axis", -1), keepdims=True)
        elif op == "Erf":
            y = erf(inputs[0])
        elif op == "IsNaN":
            y = np.isnan(inputs[0])
        elif op == "Where":
            y = np.where(inputs[0], inputs[1], inputs[2])
        elif op == "Sub":
            y = inputs[0] - inputs[1]
        elif op == "Div":
            y = inputs[0] / inputs[1]
        elif op == "Mul":
            y = inputs[0] * inputs[1]
        elif op == "Add":
            y = inputs[0] + inputs[1]
        elif op == "Identity":
            y = inputs[0]
        else:
            raise NotImplementedError(op)
        values[node.output[0]] = y
    return values[model.graph.output[0].name]
