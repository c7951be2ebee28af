"""Symbolic tensors (Keras's KerasTensor) and the calls that make them: calling a layer on
symbolic tensors records a node (the layer, what it was called on, its output), as Keras's
functional API does; keras.Model(inputs, outputs) reads those nodes back into a Keras 3
Functional config. The output shape of each call comes from the library, which builds the
call, so a wrong shape is its error naming the layer, at the call as in Keras."""
import itertools
import json
import re

from citadel import _citadel

_serials = itertools.count()  # creation order: a node only reads nodes made before it


class KerasTensor:
    """The symbolic output of an Input or of a layer call: shape (batch axis None), dtype,
    and _keras_history (layer, node index, tensor index), as Keras's."""

    def __init__(self, shape, layer, node_index, name=None, tensor_index=0):
        self.shape = tuple(shape)
        self.dtype = "float32"
        self.sparse = False
        self.ragged = False
        self.name = name or f"keras_tensor_{next(_tensor_numbers)}"
        self._keras_history = (layer, node_index, tensor_index)

    @property
    def ndim(self):
        return len(self.shape)

    def _node(self):
        layer, index, _ = self._keras_history
        return layer._inbound_nodes[index]

    def __repr__(self):
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse={self.sparse}, "
                f"ragged={self.ragged}, name={self.name}>")

    def __array__(self, *args, **kwargs):
        raise TypeError("a KerasTensor is symbolic (the functional API's placeholder), not an array: build a "
                        "keras.Model from it and call predict()")

    def _refuse_operator(self, *args):
        raise NotImplementedError("citadel does not support operators on symbolic tensors (x + y, x * 2, ...): they "
                                  "are Python code; use the merge layers (keras.layers.Add()([x, y]), Multiply, "
                                  "Subtract, ...) or their functional forms (keras.layers.add([x, y]))")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __matmul__ = _refuse_operator
    __neg__ = __getitem__ = _refuse_operator


_tensor_numbers = itertools.count()


class Node:
    """One call of a layer: the tensors it read (a list; `listed` when it was called on a
    list, as merges are; the last `trailing` of them were given as the call argument
    `trailing_argument`, a recurrent layer's initial_state) and the tensors it made (one, or a
    recurrent layer's output and states with return_state)."""

    def __init__(self, layer, inputs, listed, output_shape, output_shapes=None, trailing_argument=None, trailing=0):
        self.layer = layer
        self.inputs = list(inputs)
        self.listed = listed
        self.trailing_argument, self.trailing = trailing_argument, trailing
        self.serial = next(_serials)
        index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        shapes = output_shapes or [output_shape]
        self.outputs = [KerasTensor(shape, layer, index, tensor_index=k) for k, shape in enumerate(shapes)]
        self.output = self.outputs[0]

    @property
    def is_input(self):
        return not self.inputs


def snake_case(name):
    """A class name as Keras names its layers by default: Conv2D → conv2d, MaxPooling2D →
    max_pooling2d, BatchNormalization → batch_normalization."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def is_symbolic(value):
    if isinstance(value, KerasTensor):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, KerasTensor) for v in value)


def call_layer(layer, inputs, kwargs):
    """layer(inputs) on symbolic tensors: the node, with its output shape from the library."""
    if hasattr(type(layer), "call"):  # citadel's layers have none: the library computes them
        raise NotImplementedError(f"{type(layer).__name__} defines call(): a custom layer is Python code, which citadel "
                                  "does not run; build the model from citadel.keras.layers (docs/PYTHON.md)")
    training = kwargs.pop("training", None)
    if kwargs.get("mask", 0) is None:
        del kwargs["mask"]
    trailing_argument = getattr(layer, "_trailing_argument", None)
    trailing = kwargs.pop(trailing_argument, None) if trailing_argument else None
    if kwargs:
        raise NotImplementedError(f"{type(layer).__name__}: call arguments {sorted(kwargs)} are not supported by "
                                  "citadel yet")
    if training is not None:
        raise NotImplementedError(f"{type(layer).__name__}: training= in a layer call is not supported by citadel "
                                  "yet (dropout and batch statistics follow fit and predict)")
    listed = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if listed else [inputs]
    where = f"layer '{layer.name}'" if layer.name else f"{type(layer).__name__}(...)"
    states = []
    if trailing is not None:  # Keras's initial_state=[h, c]: the call's inputs after the sequence
        if listed:
            raise ValueError(f"{where}: give the sequence alone and the states as initial_state=[...]")
        states = list(trailing) if isinstance(trailing, (list, tuple)) else [trailing]
        if not states or not all(isinstance(t, KerasTensor) for t in states):
            raise TypeError(f"{where}: initial_state must be a list of symbolic tensors (keras.Input or layer "
                            "outputs)")
    config = {"class_name": type(layer).__name__, "config": _graph_config(layer)}
    count = layer._output_count() if hasattr(layer, "_output_count") else 1
    shapes = _citadel.call_output_shapes(json.dumps(config), [[int(d) for d in t.shape[1:]] for t in tensors + states],
                                         f"{where} called on {', '.join(_describe(t) for t in tensors + states)}",
                                         trailing_argument if states else "", count)
    node = Node(layer, tensors + states, listed, None, [(None, *shape) for shape in shapes],
                trailing_argument if states else None, len(states))
    return node.output if count == 1 else list(node.outputs)


def call_model(model, inputs, kwargs):
    """model(inputs) on symbolic tensors (a model used as a layer, as Keras's): a node whose
    layer is the model. The outer model's weights of it are the model's own (shared)."""
    if kwargs.pop("training", None) is not None or kwargs:
        raise NotImplementedError(f"model '{model.name}': call arguments {sorted(kwargs) or ['training']} are not "
                                  "supported by citadel yet")
    listed = isinstance(inputs, (list, tuple))
    tensors = list(inputs) if listed else [inputs]
    where = f"model '{model.name}' called on {', '.join(_describe(t) for t in tensors)}"
    output_shape = model._symbolic_output_shape([tuple(t.shape[1:]) for t in tensors], where)
    return Node(model, tensors, listed, (None, *output_shape)).output


def _describe(tensor):
    layer = tensor._keras_history[0]
    return f"{layer.name or type(layer).__name__} {tensor.shape}"


def _graph_config(layer):
    """A layer's config as a node of a graph: its input comes from the graph, so the
    settings that declare an input (input_dim, input_shape) are left out."""
    config = layer.get_config()
    # Embedding's input_dim is its vocabulary size, not an input shape.
    for key in ("input_shape", "batch_input_shape", "batch_shape") + (() if type(layer).__name__ == "Embedding"
                                                                          else ("input_dim",)):
        config.pop(key, None)
    config.pop("name", None)
    return config
