"""The graph between a Functional model's inputs and outputs, read from the calls recorded on
its symbolic tensors: the nodes in the order they were made (each reads only earlier
ones), the layers in the order of their first call, names for the unnamed, and the Keras 3
Functional config the library builds the model from."""
from citadel.keras import _symbolic
from citadel.keras.layers import InputLayer


class Graph:
    def __init__(self, inputs, outputs, output_keys=None):
        self.inputs, self.outputs = list(inputs), list(outputs)
        for index, tensor in enumerate(self.inputs):
            if not isinstance(tensor, _symbolic.KerasTensor) or not tensor._node().is_input:
                raise ValueError(f"Model: inputs[{index}] is not a keras.Input tensor ({tensor!r}); a model's inputs "
                                 "are what keras.Input returns")
        for index, tensor in enumerate(self.outputs):
            if not isinstance(tensor, _symbolic.KerasTensor):
                raise TypeError(f"Model: outputs[{index}] is not a symbolic tensor (a layer's output), got "
                                f"{type(tensor).__name__}")
        self.nodes = self._walk()
        self.layers = self._keras_layer_order()
        self.calls = {}  # id(node) → its index among its layer's calls in this graph
        self.nodes_of = {id(layer): [] for layer in self.layers}  # each layer's calls here
        for node in self.nodes:
            self.calls[id(node)] = len(self.nodes_of[id(node.layer)])
            self.nodes_of[id(node.layer)].append(node)
        self._name_layers(output_keys)

    def _walk(self):
        """The nodes the outputs depend on, back to the inputs (iteratively: a deep graph
        needs no deep recursion); an Input that is not among the model's inputs is an error."""
        inputs = {id(t._node()) for t in self.inputs}
        found, stack = {}, list(self.outputs)
        while stack:
            node = stack.pop()._node()
            if id(node) in found:
                continue
            if node.is_input and id(node) not in inputs:
                raise ValueError(f"Model: the outputs depend on the input '{node.layer.name or node.output.name}' "
                                 f"{node.output.shape}, which is not among the model's inputs (the graph is "
                                 "disconnected); add it to inputs=")
            found[id(node)] = node
            stack.extend(node.inputs)
        for tensor in self.inputs:
            if id(tensor._node()) not in found:
                raise ValueError(f"Model: the input '{tensor._node().layer.name or tensor.name}' {tensor.shape} is used "
                                 "by no output; remove it from inputs=")
        return sorted((n for n in found.values() if not n.is_input), key=lambda n: n.serial)

    def _keras_layer_order(self):
        """The layers in Keras 3's order (model.layers, and so the weights' order): by depth
        from the outputs, deepest first, ties in the order a depth-first walk from the outputs
        first meets them; iterative, so a deep graph needs no deep recursion."""
        finished, post_order, first_seen = set(), [], {}

        def meet(node):
            first_seen.setdefault(id(node.layer), (len(first_seen), node.layer))
        for tensor in self.outputs:
            root = tensor._node()
            if id(root) in finished:
                continue
            meet(root)
            stack = [(root, iter(root.inputs))]
            while stack:
                node, pending = stack[-1]
                for child_tensor in pending:
                    child = child_tensor._node()
                    if id(child) not in finished:
                        meet(child)
                        stack.append((child, iter(child.inputs)))
                        break
                else:
                    stack.pop()
                    if id(node) not in finished:
                        finished.add(id(node))
                        post_order.append(node)
        node_depth, layer_depth = {}, {}
        for node in reversed(post_order):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = node_depth[id(node)] = depth
            for parent in node.inputs:
                key = id(parent._node())
                node_depth[key] = max(depth + 1, node_depth.get(key, 0))
        ordered = sorted(first_seen.values(), key=lambda entry: (-layer_depth[id(entry[1])], entry[0]))
        return [layer for _index, layer in ordered]

    def _name_layers(self, output_keys):
        """Unnamed layers get Keras's names (dense, dense_1, ...; input_layer for inputs),
        unique in the model; an unnamed output layer of a dict of outputs takes its key."""
        named = {}
        for layer in self.layers:
            if layer.name:
                if layer.name in named and named[layer.name] is not layer:
                    raise ValueError(f"Model: two layers are named '{layer.name}'; layer names must be unique in a "
                                     "model (name one differently, or leave name= out)")
                named[layer.name] = layer
        for key, tensor in zip(output_keys or [], self.outputs):
            layer = tensor._keras_history[0]
            if not layer.name and key not in named and not isinstance(layer, InputLayer):
                layer.name = str(key)
                named[layer.name] = layer
        for layer in self.layers:
            if layer.name:
                continue
            base = "input_layer" if isinstance(layer, InputLayer) else _symbolic.snake_case(type(layer).__name__)
            name, number = base, 0
            while name in named:
                number += 1
                name = f"{base}_{number}"
            layer.name = name
            named[name] = layer
        for layer in self.layers:
            if not is_model(layer):
                layer._config["name"] = layer.name
            for node in layer._inbound_nodes:
                if node.is_input:
                    node.output.name = layer.name

    def history(self, tensor):
        """[layer name, call index, tensor index] of a tensor, as Keras's keras_history."""
        node = tensor._node()
        return [node.layer.name, 0 if node.is_input else self.calls[id(node)], tensor._keras_history[2]]

    def config(self, name):
        """The Keras 3 Functional config of the graph."""
        def reference(tensor):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(tensor.shape), "dtype": tensor.dtype, "keras_history": self.history(tensor)}}
        calls = {id(layer): [] for layer in self.layers}
        for node in self.nodes:
            given = node.inputs[:len(node.inputs) - node.trailing]
            argument = [reference(t) for t in given] if node.listed else reference(given[0])
            kwargs = {}
            if node.trailing:  # a recurrent layer's initial_state, as Keras 3 writes it
                kwargs[node.trailing_argument] = [reference(t) for t in node.inputs[len(given):]]
            calls[id(node.layer)].append({"args": [argument], "kwargs": kwargs})
        layers = []
        for layer in self.layers:
            if is_model(layer):  # a model used as a layer: its own config, as Keras nests it
                class_name, config = layer._nested_config()
                layers.append({"class_name": class_name, "name": layer.name,
                               "config": {**config, "name": layer.name, "trainable": layer.trainable},
                               "inbound_nodes": calls[id(layer)]})
            elif isinstance(layer, InputLayer):
                layers.append({"class_name": "InputLayer", "name": layer.name,
                               "config": {"batch_shape": list(layer._config["batch_shape"]),
                                          "dtype": layer._config.get("dtype", "float32"),
                                          "sparse": False, "name": layer.name},
                               "inbound_nodes": []})
            else:
                layers.append({"class_name": type(layer).__name__, "name": layer.name,
                               "config": {**_symbolic._graph_config(layer), "name": layer.name},
                               "inbound_nodes": calls[id(layer)]})
        return {"class_name": "Functional",
                "config": {"name": name, "layers": layers, "input_layers": [self.history(t) for t in self.inputs],
                           "output_layers": [self.history(t) for t in self.outputs]}}

    def nested_models(self):
        """The models used as layers in this graph."""
        return [layer for layer in self.layers if is_model(layer)]

    def is_chain(self):
        """Whether Keras 3 prints the summary without "Connected to": one input, one output,
        every call on one tensor, no layer called twice, no tensor read twice."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            return False
        readers = {}
        for node in self.nodes:
            if len(node.inputs) != 1 or len(self.nodes_of[id(node.layer)]) > 1:
                return False
            readers[id(node.inputs[0])] = readers.get(id(node.inputs[0]), 0) + 1
        return all(count == 1 for count in readers.values())

    def last_call(self, node):
        """Whether the node is its layer's last call here (what predict_layer_outputs reads)."""
        return self.calls[id(node)] == len(self.nodes_of[id(node.layer)]) - 1


def is_model(layer):
    """Whether a layer of a graph is a model used as a layer."""
    return getattr(layer, "_is_model", False)


def replay(config_text_or_dict, layer_classes):
    """Symbolic tensors and calls for a Functional config the library wrote (a loaded model):
    returns (inputs, outputs, name, layers by name). layer_classes maps class names to
    citadel.keras classes (a class citadel.keras lacks gets a plain Layer subclass)."""
    from citadel.keras.layers import Layer
    import json
    config = json.loads(config_text_or_dict) if isinstance(config_text_or_dict, str) else config_text_or_dict
    config = config["config"]
    tensors, layers, pending = {}, {}, []
    for entry in config["layers"]:
        name = entry.get("name") or entry["config"].get("name")
        if entry["class_name"] == "InputLayer":
            dtype = entry["config"].get("dtype") or "float32"
            dtype = dtype["config"]["name"] if isinstance(dtype, dict) else dtype  # a DTypePolicy
            layer = InputLayer(batch_shape=entry["config"]["batch_shape"], name=name, dtype=dtype)
            tensors[(name, 0)] = [layer.output]
        else:
            cls = layer_classes.get(entry["class_name"])
            if cls is None or not isinstance(cls, type):
                cls = type(entry["class_name"], (Layer,), {})
            layer = cls.__new__(cls)
            Layer.__init__(layer)
            layer._config = dict(entry.get("config", {}))
            layer.name = name
            for index, node in enumerate(entry["inbound_nodes"]):
                states = (node.get("kwargs") or {}).get("initial_state") or []
                pending.append((layer, index, node["args"][0], states))
        layers[name] = layer

    def key(reference):
        history = reference["config"]["keras_history"]
        return (history[0], history[1])

    def tensor(history):  # [layer, call, tensor index]: one of the call's outputs
        return tensors[(history[0], history[1])][history[2] if len(history) > 2 else 0]
    while pending:  # a shared layer's later call may read a layer listed after it
        waiting = []
        for layer, index, argument, states in pending:
            references = argument if isinstance(argument, list) else [argument]
            if all(key(r) in tensors for r in references + states):
                inputs = [tensor(r["config"]["keras_history"]) for r in references]
                call = {"initial_state": [tensor(r["config"]["keras_history"]) for r in states]} if states else {}
                outputs = layer(inputs if isinstance(argument, list) else inputs[0], **call)
                tensors[(layer.name, index)] = outputs if isinstance(outputs, list) else [outputs]
            else:
                waiting.append((layer, index, argument, states))
        if len(waiting) == len(pending):
            raise ValueError("the model's config refers to calls it does not define")
        pending = waiting
    inputs = [tensor(h) for h in config["input_layers"]]
    outputs = [tensor(h) for h in config["output_layers"]]
    return inputs, outputs, config.get("name", "functional"), layers
