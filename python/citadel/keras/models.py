"""keras.models: Model (Functional: keras.Model(inputs, outputs)), Sequential, load_model and
model_from_json on citadel. What every model does (compile, fit, predict, files) is in
_model.py; the graph of a Functional model in _graph.py."""
import json
import os

import numpy as np

from citadel import _citadel
from citadel.keras import _graph, _summary, layers as layers_module, mixed_precision
from citadel.keras import _model
from citadel.keras._model import check_save_path, compile_from_record  # noqa: F401  (check_save_path: callbacks)
from citadel.keras._structures import float32 as _float32  # noqa: F401  (attacks, privacy)
from citadel.keras._symbolic import KerasTensor
from citadel.keras._unsupported import subclassed_model

_KERAS_FORMATS = _model._KERAS_FORMATS


class Model(_model.Model):
    """keras.Model: Model(inputs, outputs, name=...) makes a Functional model, its inputs and
    outputs one tensor, a list or a dict. Subclassed models (a call() method) are Python code
    and are refused: use the functional API or Sequential."""

    def __new__(cls, *args, **kwargs):
        if cls is Model:
            return super().__new__(Functional)
        if not issubclass(cls, (Functional, Sequential)) or "call" in vars(cls) or any(
                "call" in vars(k) for k in cls.__mro__ if k.__module__ != __name__ and k is not object):
            raise subclassed_model(cls.__name__)
        return super().__new__(cls)

    def get_layer(self, name=None, index=None):
        """The layer of that name (or at that index of model.layers), as Keras's."""
        layers = self.layers
        if index is not None:
            if name is not None:
                raise ValueError("get_layer: give name or index, not both")
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named '{name}' in model '{self.name}'; its layers are "
                         f"{[layer.name for layer in layers]}")


class Functional(Model):
    """A graph of layer calls from keras.Input tensors to the outputs, as Keras 3's Functional.
    Its weights are made at its first use. A model made of the layers and inputs of another
    one (Model(model.input, model.get_layer('h').output)) shares that model's weights: it
    predicts through it (feature extraction) and cannot be trained itself."""

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if inputs is None or outputs is None:
            raise subclassed_model(type(self).__name__) if type(self) is not Functional else TypeError(
                "Model: give inputs= and outputs= (symbolic tensors from keras.Input and layer calls)")
        if kwargs:
            raise TypeError(f"Model: unexpected arguments {sorted(kwargs)}")
        self._base_init(name or "functional")
        self._input_dict = isinstance(inputs, dict)
        self._output_dict = isinstance(outputs, dict)
        # Dicts in the order of their sorted keys, as Keras 3 flattens them.
        self._input_given = sorted(inputs) if self._input_dict else None
        self._output_given = sorted(outputs) if self._output_dict else None
        input_list = [inputs[k] for k in self._input_given] if self._input_dict else _as_list(inputs)
        output_list = [outputs[k] for k in self._output_given] if self._output_dict else _as_list(outputs)
        self._single_input = isinstance(inputs, KerasTensor)
        self._single_output = isinstance(outputs, KerasTensor)
        self._graph = _graph.Graph(input_list, output_list, self._output_given)
        self._parent = None  # the model whose weights this one shows, when it is a view
        if not trainable:
            self.trainable = False

    # --- structure ---------------------------------------------------------------------------
    @property
    def layers(self):
        """Every layer, its inputs (InputLayer) first, as Keras 3 lists a Functional model's."""
        return list(self._graph.layers)

    @property
    def inputs(self):
        return list(self._graph.inputs)

    @property
    def outputs(self):
        return list(self._graph.outputs)

    @property
    def input(self):
        if self._input_dict:
            return dict(zip(self._input_given, self._graph.inputs))
        return self._graph.inputs[0] if len(self._graph.inputs) == 1 else list(self._graph.inputs)

    @property
    def output(self):
        if self._output_dict:
            return dict(zip(self._output_given, self._graph.outputs))
        return self._graph.outputs[0] if len(self._graph.outputs) == 1 else list(self._graph.outputs)

    @property
    def output_names(self):
        return self._output_keys()

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._graph.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _input_keys(self):
        return list(self._input_given) if self._input_dict else [t._node().layer.name for t in self._graph.inputs]

    def _input_dtypes(self):
        # From the graph's Inputs, in their order: a sub-model (a view) has no native model.
        return [t.dtype for t in self._graph.inputs]

    def _output_keys(self):
        return list(self._output_given) if self._output_dict else self._output_layers()

    def _output_layers(self):
        return [t._keras_history[0].name for t in self._graph.outputs]

    def _returns_dict(self):
        return self._output_dict

    def get_config(self):
        return self._graph.config(self.name)["config"]

    def to_json(self, **kwargs):
        if self._native is not None:
            return self._native.to_config()
        return json.dumps(self._graph.config(self.name))

    # --- the native model, and sharing weights ------------------------------------------
    def _model(self):
        self._resolve()
        if self._parent is not None:
            raise ValueError(self._view_message("this"))
        return self._native

    def _resolve(self):
        """Decides, at first use, where this model's weights live: its own native model, or
        (a view) the model whose layers and inputs it reuses."""
        if self._native is not None or self._parent is not None:
            return
        owners = {}
        for layer in self._graph.layers:
            if _graph.is_model(layer):
                continue  # a nested model keeps its own weights; this model mirrors them (_pull_nested)
            owner = layer._model
            if owner is not None and owner is not self and not isinstance(layer, layers_module.InputLayer):
                owners[id(owner)] = owner
        owners = list(owners.values())
        if len(owners) == 1 and _shows(owners[0], self):
            self._parent = owners[0]
            return
        blocking = [o for o in owners if not (isinstance(o, Functional) and not o._is_compiled() and _shows(self, o))]
        if blocking:
            shared = [layer.name for layer in self._graph.layers if layer._model is blocking[0]]
            raise ValueError(
                f"Model '{self.name}': the layers {shared} already hold weights in model '{blocking[0].name}'. "
                "citadel keeps a layer's weights in one model: a model made of another's inputs and layers only "
                "(Model(model.input, model.get_layer(name).output)) predicts through it, and a larger model can take "
                "over an untrained model's layers; to start a new model from trained layers, build it from new "
                "layers and copy the weights (new.set_weights(old.get_weights()) per layer)")
        native = self._native_from_graph()
        self._native = native
        self._pull_nested()
        for owner in owners:  # untrained models whose layers this one covers become its views
            if owner._native is not None and owner._native.built:
                for layer in owner._graph.layers:
                    if not isinstance(layer, layers_module.InputLayer) and layer._model is owner:
                        self._set_layer_weights(layer, owner._layer_weights(layer))
            owner._native, owner._parent = None, self
        for layer in self._graph.layers:
            if not _graph.is_model(layer):
                layer._model = self
        if self._compile_args is not None:
            self._compile_native()

    def _native_from_graph(self):
        """A built native model from the graph's config; nested models are inlined by the
        library's Keras reader, their layers named '<model>.<layer>'."""
        where = f"Model '{self.name}'"
        config = json.dumps(self._graph.config(self.name))
        native = (_citadel.keras_architecture(config, where) if self._graph.nested_models()
                  else _citadel.Model.from_config(config, where))
        native.build([])
        return native

    # --- models used as layers: their weights are theirs, mirrored here ------------------
    # A nested model keeps its weights in its own native model; this model's native holds a
    # copy under '<model>.<layer>' names, taken from it before every use (_ensure_built) and
    # given back after everything that changes weights (fit, train_on_batch, set_weights,
    # load_weights), so training this model trains the nested one, as in Keras.
    def _pull_nested(self):
        nested = self._graph.nested_models()
        if self._native is None or not nested:
            return
        names, values = self._native.weight_names(), self._native.get_weights()
        for base in nested:
            native, prefix = base._ensure_built(), base.name + "."
            theirs = dict(zip(native.weight_names(), native.get_weights()))
            for i, name in enumerate(names):
                if name.startswith(prefix) and name[len(prefix):] in theirs:
                    values[i] = theirs[name[len(prefix):]]
            for layer_name, _type, _params in native.layer_info():  # trainable, for the next compile
                self._native.set_layer_trainable(prefix + layer_name, native.layer_trainable(layer_name))
        self._native.set_weights(values)

    def _push_nested(self):
        nested = self._graph.nested_models()
        if self._native is None or not nested:
            return
        mine = dict(zip(self._native.weight_names(), self._native.get_weights()))
        for base in nested:
            native, prefix = base._ensure_built(), base.name + "."
            native.set_weights([mine[prefix + name] for name in native.weight_names()])

    def _symbolic_output_shape(self, input_shapes, where):
        if len(self._graph.outputs) != 1:
            raise NotImplementedError(f"{where}: citadel nests models of one output yet; model '{self.name}' has "
                                      f"{len(self._graph.outputs)}")
        expected = [tuple(t.shape[1:]) for t in self._graph.inputs]
        if [tuple(s) for s in input_shapes] != expected:
            raise ValueError(f"{where}: model '{self.name}' takes inputs of shapes "
                             f"{[(None, *s) for s in expected]}, got {[(None, *s) for s in input_shapes]}")
        return tuple(self._graph.outputs[0].shape[1:])

    def _nested_config(self):
        if self._parent is not None:
            raise ValueError(self._view_message("nest"))
        return "Functional", self._graph.config(self.name)["config"]

    def _is_compiled(self):
        return self._compile_args is not None

    def _view_message(self, what):
        return (f"model '{self.name}' shares its layers' weights with model '{self._parent.name}' (it is made of that "
                f"model's inputs and layers): citadel predicts it through '{self._parent.name}' and cannot {what} it "
                f"on its own; train '{self._parent.name}', or build a new model from new layers to train separately")

    def _check_trainable(self, method):
        self._resolve()
        if self._parent is not None:
            raise ValueError(f"{method}: " + self._view_message(method))

    @property
    def built(self):
        self._resolve()
        return self._parent.built if self._parent is not None else super().built

    def _ensure_built(self, xs=None):
        self._resolve()
        if self._parent is not None:
            raise ValueError(self._view_message("use"))
        model = super()._ensure_built(xs)
        self._pull_nested()
        return model

    def _compile_native(self):
        self._pull_nested()  # the nested models' trainable flags, which this compile applies
        super()._compile_native()

    def fit(self, *args, **kwargs):
        try:
            return super().fit(*args, **kwargs)
        finally:
            self._push_nested()

    def train_on_batch(self, x, y):
        try:
            return super().train_on_batch(x, y)
        finally:
            self._push_nested()

    def load_weights(self, filepath):
        super().load_weights(filepath)
        self._push_nested()

    def _predict_arrays(self, xs, batch_size):
        self._resolve()
        if self._parent is None:
            return super()._predict_arrays(xs, batch_size)
        parent = self._parent
        native = parent._ensure_built()
        given = {id(t): array for t, array in zip(self._graph.inputs, xs)}
        rows = len(xs[0])
        # The parent's other inputs do not reach these outputs: zeros stand in for them.
        full = [given.get(id(t), np.zeros((rows, *t.shape[1:]), np.float32)) for t in parent._graph.inputs]
        computed = [t for t in self._graph.outputs if not t._node().is_input]
        for t in computed:  # the library gives a layer's output by its name: one output per layer
            layer = t._keras_history[0]
            if hasattr(layer, "_output_count") and layer._output_count() > 1:
                raise NotImplementedError(f"model '{self.name}': an output of layer '{layer.name}', which gives "
                                          "several (return_state), as a sub-model's output is not supported by "
                                          "citadel; build the model with those outputs instead")
        names = [t._keras_history[0].name for t in computed]
        results = dict(zip(map(id, computed), native.predict_layer_outputs(full, names, batch_size) if names else []))
        return [results[id(t)] if id(t) in results else np.array(given[id(t)]) for t in self._graph.outputs]

    def get_weights(self):
        self._resolve()
        if self._parent is None:
            return super().get_weights()
        return [w for layer in self._graph.layers for w in self._parent._layer_weights(layer)]

    def set_weights(self, weights):
        self._resolve()
        if self._parent is None:
            super().set_weights(weights)
            self._push_nested()
            return
        weights = list(weights)
        for layer in self._graph.layers:
            count = len(self._parent._layer_weights(layer))
            if count:
                self._parent._set_layer_weights(layer, weights[:count])
                weights = weights[count:]
        if weights:
            raise ValueError(f"set_weights: model '{self.name}' has fewer weight arrays than the {len(weights)} "
                             "left over")

    def _layer_weights(self, layer):
        self._resolve()
        return self._parent._layer_weights(layer) if self._parent is not None else super()._layer_weights(layer)

    def _set_layer_weights(self, layer, weights):
        if self._parent is not None:
            return self._parent._set_layer_weights(layer, weights)
        super()._set_layer_weights(layer, weights)
        self._push_nested()

    def _layer_weight_kinds(self, layer):
        self._resolve()
        return self._parent._layer_weight_kinds(layer) if self._parent is not None else super()._layer_weight_kinds(layer)

    def _layer_trainable_changed(self, layer, value):
        owner = self._parent if self._parent is not None else self
        owner._native_layer_trainable(layer, value)

    def count_params(self):
        return sum(int(np.prod(w.shape)) for w in self.get_weights())

    def _saved_native(self):
        self._resolve()
        if self._parent is None:
            return super()._saved_native()
        copy = _citadel.Model.from_config(json.dumps(self._graph.config(self.name)), f"Model '{self.name}'")
        copy.build([])
        copy.set_weights([_float32(w, "weights") for w in self.get_weights()])
        return copy

    # --- summary -----------------------------------------------------------------------------
    def _summary_rows(self):
        graph, counts = self._graph, self._layer_counts()
        rows = []
        for layer in graph.layers:
            nodes = graph.nodes_of.get(id(layer), [])
            shape = layer.output.shape if not nodes else nodes[-1].output.shape
            connected = ", ".join(f"{t._keras_history[0].name}[{graph.history(t)[1]}][0]" for n in nodes
                                  for t in n.inputs) or "-"
            params = counts.get(layer.name)
            rows.append((f"{layer.name} ({type(layer).__name__})", _summary.shape_text(shape),
                         f"{params:,}" if params is not None else "0 (unbuilt)", connected))
        return rows

    def _layer_counts(self):
        self._resolve()
        owner = self._parent or self
        native = owner._native
        counts = {layer.name: 0 for layer in self._graph.layers if isinstance(layer, layers_module.InputLayer)}
        if native is None or not native.built:
            native = self._native_from_graph()
        counts.update({name: params for name, _type, params in native.layer_info()})
        for base in self._graph.nested_models():  # a nested model: the sum over its layers
            prefix = base.name + "."
            counts[base.name] = sum(params for name, params in counts.items() if name.startswith(prefix))
        return counts

    def _summary_totals(self):
        counts = self._layer_counts()
        total = sum(counts[layer.name] for layer in self._graph.layers)
        if self._parent is None and self._native is not None and self._native.built:
            self._pull_nested()  # the nested models' trainable flags, as they are now
            return total, self._native.trainable_count()
        return total, self._native_from_graph().trainable_count()

    def _summary_is_graph(self):
        return not self._graph.is_chain()

    def __repr__(self):
        return f"<citadel.keras.Model name={self.name!r} inputs={len(self._graph.inputs)} outputs={len(self._graph.outputs)}>"


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _shows(owner, view):
    """Whether `view` can predict through `owner`: its inputs are owner's, its layers are
    owner's (called as owner calls them), and each output is an input of owner or the last
    call of an owner layer (the call predict_layer_outputs reads)."""
    if not isinstance(owner, Functional) or not isinstance(view, Functional):
        return False
    owner_inputs = {id(t) for t in owner._graph.inputs}
    if any(id(t) not in owner_inputs for t in view._graph.inputs):
        return False
    owner_nodes = {id(n) for n in owner._graph.nodes}
    if any(id(n) not in owner_nodes for n in view._graph.nodes):
        return False
    for tensor in view._graph.outputs:
        node = tensor._node()
        if not node.is_input and not owner._graph.last_call(node):
            return False
    return True


class Sequential(Model):
    """A linear stack of layers, as keras.Sequential (a keras.Model)."""

    def __init__(self, layers=None, name=None, trainable=True):
        self._base_init(name or "sequential")
        self._layers = []
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False

    # --- architecture -------------------------------------------------------------------
    def add(self, layer):
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history[0], layers_module.InputLayer):
            layer = layer._keras_history[0]  # keras.Input(...) first, as Keras 3 allows
        if getattr(layer, "_preprocessing_only", None):
            raise TypeError(f"add: {layer._preprocessing_only}")
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"add: expected a citadel.keras.layers layer, got {type(layer).__name__}")
        if self._native is not None and self._native.built:
            raise ValueError("add: this model is already built (trained or given weights); citadel cannot grow a "
                             "built model yet: make a new Sequential with all its layers")
        if layer._model is not None and layer._model is not self:
            raise ValueError(f"add: layer '{layer.name}' already belongs to another model")
        if layer._inbound_nodes and not isinstance(layer, layers_module.InputLayer):
            raise ValueError(f"add: layer '{layer.name or type(layer).__name__}' was called on symbolic tensors (the "
                             "functional API); a Sequential model takes layers not yet called")
        layer._model = self
        self._layers.append(layer)
        self._native = None

    def pop(self):
        if not self._layers:
            raise TypeError("pop: the model has no layers")
        if self._native is not None and self._native.built:
            raise ValueError("pop: this model is already built; citadel cannot change a built model")
        layer = self._layers.pop()
        layer._model = None
        self._native = None
        return layer

    @property
    def layers(self):
        return [layer for layer in self._layers if not isinstance(layer, layers_module.InputLayer)]

    def get_config(self):
        return {"name": self.name, "layers": [layer._serialize() for layer in self._layers]}

    def _model(self):
        """The native model, made from the layers' configs when they changed."""
        if self._native is None:
            if not self.layers:
                raise ValueError("this Sequential model has no layers yet: add() some first")
            config = {"class_name": "Sequential", "config": self.get_config()}
            native = _citadel.Model.from_config(json.dumps(config), f"Sequential '{self.name}'")
            self._attach(native)
            if self._compile_args is not None:
                self._compile_native()
        return self._native

    def _attach(self, native):
        self._native = native
        for layer, (name, _type, _params) in zip(self.layers, native.layer_info()):
            layer.name = name

    def _input_keys(self):
        inputs = [layer for layer in self._layers if isinstance(layer, layers_module.InputLayer)]
        return [inputs[0].name or "input_layer"] if inputs else ["input_layer"]

    def _output_keys(self):
        self._model()
        return [self.layers[-1].name]

    _output_layers = _output_keys

    def build(self, input_shape=None):
        """Builds the weights for inputs of input_shape (with the batch axis, as Keras)."""
        model = self._model()
        if input_shape is None:
            if not model.input_shape:
                raise ValueError("build: give input_shape, or declare it on the first layer (input_dim=, "
                                 "input_shape= or an Input)")
            model.build(list(model.input_shape))
            return
        shape = list(input_shape)[1:]
        model.build([int(d) for d in shape])

    def _ensure_built(self, xs=None):
        model = self._model()
        if not model.built:
            if xs:
                model.build(list(xs[0].shape[1:]))
            elif model.input_shape:
                model.build(list(model.input_shape))
        return model

    def predict_rows(self, rows, batch_size=32, missing=None):
        """For a model trained by `citadel train` on a CSV file: predictions for raw rows (CSV
        text with a header, or a list of {column: value} dicts), read through the model's own
        encoding and scaling. Returns {'labels', 'class_names', 'probabilities'} (or 'values').
        missing: 'error', 'drop' or 'mean' (the training means), as the CLI's --missing; None:
        as the model's training rows were read (a model trained with --missing mean imputes)."""
        return self._model().predict_rows(rows, int(batch_size), missing or "")

    def encode_rows(self, rows, labelled=True, missing=None):
        """For a model trained by `citadel train` on a CSV file: raw rows (CSV text with a header,
        or a list of dicts) as the model's inputs (x) and, when labelled, its targets (y) —
        what to give evaluate, the attacks or a membership audit. missing: as predict_rows."""
        return self._model().encode_rows(rows, bool(labelled), missing or "")

    # --- summary -------------------------------------------------------------------------
    def _summary_rows(self):
        try:
            model = self._ensure_built()
        except ValueError:
            model = None
        if model is None or not model.built:
            return [(f"{layer.name or '?'} ({type(layer).__name__})", "?", "0 (unbuilt)") for layer in self.layers]
        shapes = model.node_output_shapes()
        return [(f"{name} ({kind})", _summary.shape_text((None, *shape)), f"{params:,}")
                for (name, kind, params), shape in zip(model.layer_info(), shapes)]

    def _summary_is_graph(self):
        return False

    def _symbolic_output_shape(self, input_shapes, where):
        if len(input_shapes) != 1:
            raise ValueError(f"{where}: a Sequential model takes one input, got {len(input_shapes)}")
        model = self._model()
        shape = [int(d) for d in input_shapes[0]]
        if model.built and list(model.input_shape) != shape:
            raise ValueError(f"{where}: model '{self.name}' was built for inputs {(None, *model.input_shape)}, got "
                             f"{(None, *shape)}")
        if not model.built:
            model.build(shape)  # as Keras builds a Sequential model at its first call
        return tuple(model.output_shape)

    def _nested_config(self):
        self._model()  # names every layer
        entries = [layer._serialize() for layer in self._layers]
        for entry, layer in zip(entries, self._layers):
            if layer.name:
                entry["config"] = {**entry["config"], "name": layer.name}
        return "Sequential", {"name": self.name, "layers": entries}

    @property
    def input_shape(self):
        return (None, *self._model().input_shape)

    @property
    def output_shape(self):
        return (None, *self._ensure_built().output_shape)

    def __repr__(self):
        return f"<citadel.keras.Sequential name={self.name!r} layers={len(self.layers)}>"


def _from_native(native, name, config_text=None):
    """A Sequential or Functional model whose layers mirror a native model's configuration."""
    if not native.is_sequential:
        if not native.built:
            native.build([])
        return _functional_from_native(native, json.loads(native.to_config()))
    config = json.loads(config_text if config_text is not None else native.to_config())
    model = Sequential(name=config.get("config", {}).get("name", name))
    for entry in config["config"]["layers"]:
        cls = vars(layers_module).get(entry["class_name"])  # not getattr: Keras names citadel lacks raise
        if cls is None or not isinstance(cls, type):
            cls = type(entry["class_name"], (layers_module.Layer,), {})
        layer = cls.__new__(cls)
        layers_module.Layer.__init__(layer)
        layer._config = dict(entry.get("config", {}))
        layer.name = layer._config.get("name")
        layer._model = model
        model._layers.append(layer)
    model._attach(native)
    _adopt_settings(model, native)
    return model


def _functional_from_native(native, config):
    inputs, outputs, name, _layers = _graph.replay(config, vars(layers_module))
    model = Functional(inputs, outputs, name=name)
    model._native = native
    for layer in model._graph.layers:
        layer._model = model
    _adopt_settings(model, native)
    return model


def _adopt_settings(model, native):
    if native.compiled:
        compile_from_record(model, native)
    # As Keras builds loaded layers under the global dtype policy (a model file holds none).
    native.set_precision(mixed_precision.global_policy().name)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True, public_key=None, key_file=None,
               passphrase=None):
    """Loads a citadel model file, through the library's one verified load path: with
    public_key the signature must hold (citadel.SecurityError otherwise); an encrypted file
    is decrypted in memory with key_file or passphrase."""
    path = os.fspath(filepath)
    if path.lower().endswith(_KERAS_FORMATS):
        # Keras files are imported, never run: custom_objects cannot be honoured (code is
        # refused), and the file carries no signature to check.
        if custom_objects:
            raise ValueError(f"load_model: '{path}': custom_objects are code; citadel imports built-in layers only")
        if public_key or key_file or passphrase:
            raise ValueError(f"load_model: '{path}': Keras files are neither signed nor encrypted; import the file "
                             "(citadel import) and protect the citadel model file instead")
        try:
            native = _citadel.import_keras(path)
        except NotImplementedError:
            # Several inputs or outputs are read as a graph (anything else unsupported is
            # refused again there, with the same message).
            native = _citadel.load_keras_graph(path)
        model = _from_native(native, os.path.splitext(os.path.basename(path))[0])
        model._compile_args = None
        return model
    native = _citadel.Model.load(path, os.fspath(public_key) if public_key else "",
                                 os.fspath(key_file) if key_file else "", passphrase or "")
    model = _from_native(native, os.path.splitext(os.path.basename(path))[0])
    if not compile:
        model._compile_args = None
    return model


def model_from_json(json_string, custom_objects=None):
    """A new model (freshly initialized weights) from to_json()'s text."""
    native = _citadel.Model.from_config(json_string, "model_from_json")
    if native.is_sequential and native.input_shape:
        native.build(list(native.input_shape))
    return _from_native(native, "sequential", json_string)


# Keras 3 names this module lacks raise an error that says so (_unsupported.py).
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras.models")
