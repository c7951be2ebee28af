"""keras.Model's training, evaluation, prediction, weights and files on a native citadel
model, for one or several inputs and outputs. Sequential and Functional models (models.py)
say how their native model is made and what their inputs and outputs are called."""
import json
import os
import sys
import warnings

import numpy as np

from citadel import _citadel
from citadel.keras import _structures, _summary, callbacks as callbacks_module, losses, mixed_precision, optimizers
from citadel.keras._structures import float32

_KERAS_FORMATS = (".keras", ".h5", ".hdf5")
_SAVED_FORMATS = (".safetensors", ".keras")  # what save() writes, by extension
# The file record of compile settings per output, which the library's own record (one loss,
# one metric list) cannot hold; load_model compiles with it.
COMPILE_RECORD = "keras_compile"


def check_save_path(path, method="save"):
    """As Keras 3's save: the file name says the format; a name without one of the extensions
    save() writes is refused rather than written in a format the name does not show."""
    lowered = path.lower()
    if lowered.endswith((".h5", ".hdf5")):
        raise ValueError(f"{method}: '{path}': citadel writes Keras 3 .keras files and its own model files "
                         "(.safetensors); the legacy .h5 format is read (load_model), not written")
    if not lowered.endswith(_SAVED_FORMATS):
        raise ValueError(f"{method}: '{path}' has no model file extension; add .safetensors (a citadel model file, "
                         "which can be signed and encrypted) or .keras (a Keras 3 file), as Keras 3 asks for one")


def _verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _unsupported(method, **settings):
    for key, (value, default) in settings.items():
        if value is not default and (default is None or value != default):
            raise NotImplementedError(f"{method}: {key} is not supported by citadel yet")


class Model:
    """What Sequential and Functional models share (keras.Model's methods). keras.Model(inputs,
    outputs) makes a Functional model (models.py)."""

    _is_model = True  # a model called on symbolic tensors is a layer of the outer graph (_graph.py)

    def _base_init(self, name):
        self.name = name
        self._inbound_nodes = []  # its calls on symbolic tensors, as a layer's
        self._native = None
        self._compile_args = None
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None

    # --- what a kind of model says --------------------------------------------------------
    def _model(self):
        """The native model (made when first needed)."""
        raise NotImplementedError

    def _input_keys(self):
        """The names of the inputs, as x's dict keys."""
        return list(self._model().input_names)

    def _input_dtypes(self):
        """Each input's dtype (float32, or int32/int64 for token ids); None while unknown."""
        return list(self._model().input_dtypes) or None

    def _output_keys(self):
        """The names of the outputs, as y's and compile's dict keys and in log names."""
        return list(self._model().output_names)

    def _output_layers(self):
        """The output layers' names, which the library keys per-output settings by."""
        return list(self._model().output_names)

    def _returns_dict(self):
        return False

    # --- building ----------------------------------------------------------------------------
    @property
    def built(self):
        return self._native is not None and self._native.built

    def _ensure_built(self, xs=None):
        model = self._model()
        if not model.built:
            model.build([] if not model.is_sequential else self._sequential_input_shape(xs))
        return model

    def _sequential_input_shape(self, xs):
        return list(xs[0].shape[1:]) if xs else list(self._native.input_shape)

    # --- compiling ---------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", precision=None, **kwargs):
        """As keras.Model.compile. loss, loss_weights and metrics: one for every output, a list
        in output order, or a dict keyed by output names. precision: 'float32' or
        'mixed_bfloat16' (matrix products in bf16 on AMX or AVX512-BF16, float32 weights); by
        default the global policy (citadel.keras.mixed_precision.set_global_policy)."""
        if loss is None:
            raise ValueError("compile: give a loss ('binary_crossentropy', 'mse', ...)")
        _unsupported("compile", weighted_metrics=(weighted_metrics, None))
        if kwargs:
            raise TypeError(f"compile: unexpected arguments {sorted(kwargs)}")
        self._check_trainable("compile")
        keys, layers = self._output_keys(), self._output_layers()
        settings = _structures.compile_settings(loss, loss_weights, metrics, keys, layers)
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        precision = mixed_precision.global_policy().name if precision is None else mixed_precision.Policy(precision).name
        self._compile_args = settings + (precision,)
        self._compile_native()
        if self._native.precision_warning:
            warnings.warn(self._native.precision_warning, RuntimeWarning, stacklevel=2)

    def _check_trainable(self, method):
        """Views of another model's weights (models.py) refuse to train."""

    @property
    def dtype_policy(self):
        """The policy the model computes in on this processor: float32 where mixed_bfloat16 was
        asked for but the processor has no bf16 instructions."""
        if self._native is not None and self._native.compiled:
            return mixed_precision.Policy(self._native.precision)
        return mixed_precision.global_policy()

    def _compile_native(self):
        model = self._model()
        loss, per_loss, weights, metric_names, per_metrics, precision = self._compile_args
        model.compile(loss, self.optimizer._serialize(), metric_names, precision, per_loss, weights, per_metrics)
        self.optimizer._model = model

    def _check_compiled(self, method):
        if self._compile_args is None and not (self._native is not None and self._native.compiled):
            # ValueError, as Keras 3 raises (tf.keras 2 raised RuntimeError).
            raise ValueError(f"{method}: you must compile the model before calling {method}() "
                             "(model.compile(loss=..., optimizer=...))")

    # --- data --------------------------------------------------------------------------------
    def _inputs(self, x, argument="x"):
        return _structures.arrays(x, self._input_keys(), argument, "input", self._input_dtypes())

    def _targets(self, y, argument="y"):
        ys = _structures.arrays(y, self._output_keys(), argument, "output")
        model = self._native
        shapes = model.output_shapes if model is not None and (model.built or not model.is_sequential) else None
        # Keras accepts (N,) labels for an output of one unit.
        if shapes:
            ys = [t.reshape(-1, 1) if t.ndim == 1 and list(shape) == [1] else t for t, shape in zip(ys, shapes)]
        return ys

    # --- training ----------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, dp=None,
            seed=None):
        """Trains as keras.Model.fit; returns a History. x and y: arrays, lists of arrays in the
        model's input and output order, or dicts keyed by their names. dp=citadel.privacy.DPSGD(...)
        trains with differential privacy and adds 'epsilon' to the History."""
        self._check_trainable("fit")
        self._check_compiled("fit")
        if x is None or y is None:
            raise ValueError("fit: give x and y (citadel does not take datasets or generators yet)")
        _unsupported("fit", class_weight=(class_weight, None), sample_weight=(sample_weight, None),
                     initial_epoch=(initial_epoch, 0), steps_per_epoch=(steps_per_epoch, None),
                     validation_steps=(validation_steps, None), validation_batch_size=(validation_batch_size, None),
                     validation_freq=(validation_freq, 1))
        xs = self._inputs(x)
        model = self._ensure_built(xs)
        ys = self._targets(y)
        validation_x = validation_y = None
        if validation_data is not None:
            if len(validation_data) == 3 and validation_data[2] is not None:
                raise NotImplementedError("fit: validation sample weights are not supported by citadel yet")
            validation_x = self._inputs(validation_data[0], "validation_data x")
            validation_y = self._targets(validation_data[1], "validation_data y")
        if dp is not None and not hasattr(dp, "get_config"):
            raise TypeError("fit: dp must be a citadel.privacy.DPSGD")
        callback_list = list(callbacks or [])
        history = callbacks_module.History()
        # Keras 3's params: steps is the number of batches an epoch takes.
        rows = len(xs[0])
        split = float(validation_split) if validation_data is None else 0.0
        training_rows = int(rows * (1.0 - split)) if split > 0 else rows  # as the library splits
        poisson = dp is not None and dp.get_config().get("poisson_sampling", True)
        batch = int(batch_size or 32)  # checked by the library; steps are counted only when it can train
        steps = _citadel.steps_per_epoch(training_rows, min(batch, training_rows), poisson) if batch > 0 and training_rows > 0 else 0
        params = {"verbose": _verbose(verbose), "epochs": int(epochs), "steps": int(steps)}
        for callback in callback_list + [history]:
            callback.set_model(self)
            callback.set_params(params)
        self.stop_training = False
        sys.stdout.flush()
        epoch, values, stop_reason = model.fit(
            xs, ys, epochs=int(epochs), batch_size=batch, verbose=_verbose(verbose),
            validation_split=float(validation_split), validation_x=validation_x, validation_y=validation_y,
            shuffle=bool(shuffle), callbacks=callback_list, owner=self, seed=seed,
            dp=None if dp is None else dp.get_config())
        history.epoch, history.history, history.stop_reason = epoch, self._keras_order(values), stop_reason
        self.history = history
        return history

    def _log_renames(self):
        """Log names the library writes (per output layer) → Keras's (per output key), for
        models whose outputs were given as a dict with keys other than the layers' names."""
        keys, layers = self._output_keys(), self._output_layers()
        if len(keys) < 2 or keys == layers:
            return {}
        renames = {}
        for key, layer in zip(keys, layers):
            for suffix in ["loss", *self._metric_log_names(layer)]:
                renames[f"{layer}_{suffix}"] = f"{key}_{suffix}"
                renames[f"val_{layer}_{suffix}"] = f"val_{key}_{suffix}"
        return renames

    def _metric_log_names(self, layer):
        _loss, _losses, _weights, metric_list, per_metrics, _precision = self._compile_args
        return [_log_name(m) for m in per_metrics.get(layer, metric_list)]

    def _trained_names(self):
        """The figures training logs (the loss, each output's loss and metrics), Keras's names."""
        if self._compile_args is None:
            return {"loss", *self._native.compile_settings()["metrics"]}
        keys, layers = self._output_keys(), self._output_layers()
        if len(keys) == 1:
            return {"loss", *self._metric_log_names(layers[0])}
        names = {"loss"}
        for key, layer in zip(keys, layers):
            names.update(f"{key}_{suffix}" for suffix in ["loss", *self._metric_log_names(layer)])
        return names

    def _keras_order(self, values):
        """Figures as Keras 3 orders a History and fit's logs: the loss and the compiled metrics
        sorted by name (Keras 3 sorts its logs), then their val_ forms sorted, then what callbacks
        and citadel add (learning_rate, epsilon)."""
        renames = self._log_renames()
        values = {renames.get(k, k): v for k, v in values.items()}
        trained = self._trained_names()

        def rank(name):
            if name in trained:
                return (0, name)
            if name.startswith("val_") and name[4:] in trained:
                return (1, name)
            return (2, name)
        return dict(sorted(values.items(), key=lambda item: rank(item[0])))

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss and the compiled metrics over x: a scalar when there are no metrics, else a
        list in metrics_names's order, or a dict with return_dict=True."""
        self._check_trainable("evaluate")
        self._check_compiled("evaluate")
        _unsupported("evaluate", sample_weight=(sample_weight, None), steps=(steps, None))
        xs = self._inputs(x)
        model = self._ensure_built(xs)
        logs = model.evaluate(xs, self._targets(y), int(batch_size or 32))
        renames = self._log_renames()
        logs = {renames.get(k, k): v for k, v in logs.items()}
        if return_dict:  # sorted by name, as Keras 3's
            return dict(sorted(logs.items()))
        values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    @property
    def metrics_names(self):
        """The figures evaluate() lists, in its order: the loss, then (several outputs) each
        output's loss, then the metrics in compile order, output by output (as Keras 3 lists
        evaluate's values)."""
        if self._native is None or not self._native.compiled:
            return []
        if self._compile_args is None:
            return ["loss"] + list(self._native.compile_settings()["metrics"])
        keys, layers = self._output_keys(), self._output_layers()
        if len(keys) == 1:
            return ["loss"] + self._metric_log_names(layers[0])
        names = ["loss"] + [f"{key}_loss" for key in keys]
        for key, layer in zip(keys, layers):
            names += [f"{key}_{metric}" for metric in self._metric_log_names(layer)]
        return names

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for x: a float32 numpy array of its own, or one per output (a
        list, or a dict for a model whose outputs were given as a dict)."""
        _unsupported("predict", steps=(steps, None))
        xs = self._inputs(x)
        outputs = self._predict_arrays(xs, int(batch_size or 32))
        return self._output_structure(outputs)

    def _predict_arrays(self, xs, batch_size):
        return self._ensure_built(xs).predict(xs, batch_size)

    def _output_structure(self, outputs):
        if self._returns_dict():
            return dict(zip(self._output_keys(), outputs))
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def predict_on_batch(self, x):
        xs = self._inputs(x)
        return self.predict(x, batch_size=max(1, len(xs[0])))

    def __call__(self, x, training=None, **kwargs):
        """On symbolic tensors: the model used as a layer of another model (Keras's nesting), whose
        weights it shares: training the outer model trains this one's. On arrays: predict."""
        from citadel.keras import _symbolic
        if isinstance(x, dict) and x and _symbolic.is_symbolic(list(x.values())):
            x = [x[key] for key in self._input_keys()]
        if _symbolic.is_symbolic(x):
            return _symbolic.call_model(self, x, {"training": training, **kwargs})
        return self.predict(x)

    def train_on_batch(self, x, y):
        """One optimizer step on the batch; returns its loss."""
        self._check_trainable("train_on_batch")
        self._check_compiled("train_on_batch")
        xs = self._inputs(x)
        model = self._ensure_built(xs)
        return model.train_on_batch(xs, self._targets(y))

    # --- weights and files -------------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Keras 3's table (its widths and wrapping, without colours): each layer, its output
        shape and parameters, and for a graph the layers it is connected to."""
        _unsupported("summary", show_trainable=(show_trainable, False), layer_range=(layer_range, None))
        text = _summary.render(self._summary_rows(), self.name, self._summary_totals(), self._summary_is_graph(),
                               line_length, positions)
        # Where a mask is dropped (Keras warns when the layer is called): named, never silent.
        if self.built:
            text = text.rstrip("\n") + "".join(f"\nWarning: {w}" for w in self._native.mask_warnings()) + "\n"
        (print_fn or print)(text.rstrip("\n"))

    def _summary_totals(self):
        if not self.built:
            return None
        model = self._native
        total = model.count_params()
        return total, model.trainable_count()

    def count_params(self):
        return self._ensure_built().count_params()

    def get_weights(self):
        return self._ensure_built().get_weights()

    def set_weights(self, weights):
        self._ensure_built().set_weights([float32(w, "weights") for w in weights])

    @property
    def weights(self):
        return self.get_weights()

    def _layer_weights(self, layer):
        model = self._ensure_built()
        return [w for name, w in zip(model.weight_names(), model.get_weights()) if name.split("/")[0] == layer.name]

    def _set_layer_weights(self, layer, weights):
        model = self._ensure_built()
        names, current = model.weight_names(), model.get_weights()
        mine = [i for i, name in enumerate(names) if name.split("/")[0] == layer.name]
        if len(weights) != len(mine):
            raise ValueError(f"set_weights: layer '{layer.name}' has {len(mine)} weight arrays, got {len(weights)}")
        for index, array in zip(mine, weights):
            current[index] = float32(array, "weights")
        model.set_weights(current)

    def _layer_weight_kinds(self, layer):
        """(array, is a variable) per weight of the layer: False for state the layer updates
        itself (BatchNormalization's moving statistics), which is never trainable."""
        model = self._ensure_built()
        return [(w, variable) for name, w, variable in zip(model.weight_names(), model.get_weights(),
                                                             model.weight_is_variable())
                if name.split("/")[0] == layer.name]

    def _layer_trainable_changed(self, layer, value):
        """A layer's trainable changed: the native model, if made, hears of it (its next
        compile applies it); one made later reads it from the layer's config."""
        self._native_layer_trainable(layer, value)

    def _native_layer_trainable(self, layer, value):
        if self._native is not None and layer.name and _has_layer(self._native, layer.name):
            self._native.set_layer_trainable(layer.name, value)

    # keras.Model.trainable: setting it sets every layer's, as Keras does.
    @property
    def trainable(self):
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = value

    @property
    def trainable_weights(self):
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def _layer_params(self, layer):
        return sum(int(np.prod(w.shape)) for w in self._layer_weights(layer))

    def to_json(self, **kwargs):
        return self._ensure_built().to_config()

    def _compile_record(self):
        """The Keras compile settings of several outputs, kept in the model file."""
        if self._compile_args is None or len(self._output_keys()) < 2:
            return {}
        loss, per_loss, weights, metric_list, per_metrics, _precision = self._compile_args
        return {COMPILE_RECORD: json.dumps({"loss": loss, "losses": per_loss, "loss_weights": weights,
                                            "metrics": metric_list, "output_metrics": per_metrics})}

    def save(self, filepath, overwrite=True, secret_key=None, key_file=None, passphrase=None):
        """Writes a citadel model file (safetensors), atomically; signed with secret_key
        and/or encrypted with key_file or passphrase when given."""
        path = os.fspath(filepath)
        check_save_path(path)
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"save: '{path}' exists and overwrite=False")
        if path.lower().endswith(".keras"):
            if secret_key or key_file or passphrase:
                raise ValueError(f"save: '{path}': a .keras file cannot be signed or encrypted; save a citadel "
                                 "model file (.safetensors) for that")
            _citadel.export_keras(self._saved_native(), path)
            return
        model = self._saved_native()
        # Encrypted first when asked, then signed over the bytes as stored (path + '.sig').
        model.save(path, os.fspath(secret_key) if secret_key else "", os.fspath(key_file) if key_file else "",
                   passphrase or "", self._compile_record())

    def _saved_native(self):
        """The native model save() writes (a view of another model's weights writes a copy)."""
        return self._ensure_built()

    def export(self, filepath, format="onnx", opset=13, preprocessing=True):
        """Writes the model for another runtime, as Keras 3's Model.export: format "onnx"
        (opset 13 to 17, checked by ONNX's checker), for ONNX Runtime and the rest. A model
        trained by `citadel train` carries its imputation and scaling into the graph
        (preprocessing=False leaves them out), so the graph takes the columns predict_rows reads."""
        if format != "onnx":
            raise ValueError(f"export: format {format!r} is not offered; 'onnx' is (save to .keras for Keras)")
        _citadel.export_onnx(self._saved_native(), os.fspath(filepath), opset, preprocessing)

    def save_weights(self, filepath, overwrite=True):
        path = os.fspath(filepath)
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"save_weights: '{path}' exists and overwrite=False")
        if path.lower().endswith(".weights.h5"):  # Keras 3's layout, which Keras's load_weights reads
            _citadel.save_keras_weights(self._saved_native(), path)
        elif path.lower().endswith(_KERAS_FORMATS):
            raise ValueError(f"save_weights: '{path}': Keras weights are written as .weights.h5 (Keras 3); "
                             "the legacy .h5 layout is read, not written")
        else:
            self._saved_native().save_weights(path)

    def load_weights(self, filepath):
        path = os.fspath(filepath)
        self._check_trainable("load_weights")
        if path.lower().endswith((".h5", ".hdf5")):  # Keras 3's .weights.h5 or Keras 2's .h5
            _citadel.load_keras_weights(self._ensure_built(), path)
        else:
            self._ensure_built().load_weights(path)


def _log_name(metric):
    """A compiled metric's name in the logs (the library's names for Keras's strings)."""
    if isinstance(metric, dict):
        metric = metric.get("config", {}).get("name") or metric.get("class_name", "")
    return {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae",
            "f1": "f1_score"}.get(metric, metric)


def compile_from_record(model, native):
    """A loaded model's compile settings from its file: the Keras record of several outputs
    when there is one, else the library's."""
    settings = native.compile_settings()
    model.optimizer = optimizers.get(settings["optimizer"])
    model.optimizer._model = native
    record = native.metadata.get(COMPILE_RECORD)
    if record:
        kept = json.loads(record)
        model.loss = kept["loss"] if kept["loss"] is not None else kept["losses"]
        model._compile_args = (kept["loss"], kept["losses"], kept["loss_weights"], kept["metrics"],
                               kept["output_metrics"], mixed_precision.global_policy().name)
        native.compile(kept["loss"], _optimizer_settings(settings), kept["metrics"],
                       mixed_precision.global_policy().name, kept["losses"], kept["loss_weights"],
                       kept["output_metrics"])
        return
    model.loss = settings["loss"]
    model._compile_args = (settings["loss"], {}, {}, list(settings["metrics"]), {},
                           mixed_precision.global_policy().name)


def _optimizer_settings(settings):
    return {"class_name": {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop",
                           "adagrad": "Adagrad"}.get(settings["optimizer"].lower(), settings["optimizer"]),
            "config": {"learning_rate": settings["learning_rate"]}}


def _has_layer(native, name):
    """Whether a native model has a layer of that name (its inputs are not layers)."""
    return any(layer_name == name for layer_name, _type, _params in native.layer_info())
