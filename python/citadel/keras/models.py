"""keras.models: Sequential and load_model on citadel."""
import json
import os
import sys
import warnings

import numpy as np

from citadel import _citadel
from citadel.keras import callbacks as callbacks_module
from citadel.keras import layers as layers_module
from citadel.keras import losses, metrics as metrics_module, mixed_precision, optimizers

_KERAS_FORMATS = (".keras", ".h5", ".hdf5")
_SAVED_FORMATS = (".safetensors", ".keras")  # what save() writes, by extension


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


def _float32(value, argument):
    """An array citadel reads without copying: float32, C-contiguous (converted once)."""
    try:
        return np.ascontiguousarray(value, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{argument}: expected numbers convertible to float32, got {type(value).__name__}: "
                        f"{error}") from None


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


class Sequential:
    """A linear stack of layers, as keras.Sequential."""

    def __init__(self, layers=None, name=None):
        self.name = name or "sequential"
        self._layers = []
        self._native = None
        self._compile_args = None
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # --- architecture -------------------------------------------------------------------
    def add(self, layer):
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"add: expected a citadel.keras.layers layer, got {type(layer).__name__}")
        if self._native is not None and self._native.built:
            raise ValueError("add: this model is already built (trained or given weights); citadel cannot grow a "
                             "built model yet: make a new Sequential with all its layers")
        if layer._model is not None and layer._model is not self:
            raise ValueError(f"add: layer '{layer.name}' already belongs to another model")
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

    @property
    def built(self):
        return self._native is not None and self._native.built

    def _ensure_built(self, x=None):
        model = self._model()
        if not model.built:
            if x is not None:
                model.build(list(x.shape[1:]))
            elif model.input_shape:
                model.build(list(model.input_shape))
        return model

    # --- training -----------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", precision=None, **kwargs):
        """As keras.Model.compile. precision: 'float32' or 'mixed_bfloat16' (matrix products in bf16
        on AMX or AVX512-BF16, float32 weights); by default the global policy
        (citadel.keras.mixed_precision.set_global_policy)."""
        if loss is None:
            raise ValueError("compile: give a loss ('binary_crossentropy', 'mse', ...)")
        _unsupported("compile", loss_weights=(loss_weights, None), weighted_metrics=(weighted_metrics, None))
        if kwargs:
            raise TypeError(f"compile: unexpected arguments {sorted(kwargs)}")
        if isinstance(metrics, (str, metrics_module.Metric)):
            raise TypeError("compile: metrics must be a list, e.g. metrics=['accuracy']")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        precision = mixed_precision.global_policy().name if precision is None else mixed_precision.Policy(precision).name
        self._compile_args = (losses.serialize(loss), [metrics_module.serialize(m) for m in (metrics or [])],
                              precision)
        self._compile_native()
        if self._native.precision_warning:
            warnings.warn(self._native.precision_warning, RuntimeWarning, stacklevel=2)

    @property
    def dtype_policy(self):
        """The policy the model computes in on this processor: float32 where mixed_bfloat16 was
        asked for but the processor has no bf16 instructions."""
        if self._native is not None and self._native.compiled:
            return mixed_precision.Policy(self._native.precision)
        return mixed_precision.global_policy()

    def _compile_native(self):
        model = self._model()
        loss, metric_names, precision = self._compile_args
        model.compile(loss, self.optimizer._serialize(), metric_names, precision)
        self.optimizer._model = model

    def _check_compiled(self, method):
        if self._compile_args is None and not (self._native is not None and self._native.compiled):
            # ValueError, as Keras 3 raises (tf.keras 2 raised RuntimeError).
            raise ValueError(f"{method}: you must compile the model before calling {method}() "
                               "(model.compile(loss=..., optimizer=...))")

    def _targets(self, y, argument="y"):
        y = _float32(y, argument)
        output = self._native.output_shape if self._native is not None and self._native.built else None
        # Keras accepts (N,) labels for a model with one output unit.
        if y.ndim == 1 and output == [1]:
            y = y.reshape(-1, 1)
        return y

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1, dp=None,
            seed=None):
        """Trains as keras.Model.fit; returns a History. dp=citadel.privacy.DPSGD(...) trains with
        differential privacy and adds 'epsilon' to the History."""
        self._check_compiled("fit")
        if x is None or y is None:
            raise ValueError("fit: give x and y (citadel does not take datasets or generators yet)")
        _unsupported("fit", class_weight=(class_weight, None), sample_weight=(sample_weight, None),
                     initial_epoch=(initial_epoch, 0), steps_per_epoch=(steps_per_epoch, None),
                     validation_steps=(validation_steps, None), validation_batch_size=(validation_batch_size, None),
                     validation_freq=(validation_freq, 1))
        x = _float32(x, "x")
        model = self._ensure_built(x)
        y = self._targets(y)
        validation_x = validation_y = None
        if validation_data is not None:
            if len(validation_data) == 3 and validation_data[2] is not None:
                raise NotImplementedError("fit: validation sample weights are not supported by citadel yet")
            validation_x = _float32(validation_data[0], "validation_data x")
            validation_y = self._targets(validation_data[1], "validation_data y")
        if dp is not None and not hasattr(dp, "get_config"):
            raise TypeError("fit: dp must be a citadel.privacy.DPSGD")
        callback_list = list(callbacks or [])
        history = callbacks_module.History()
        # Keras 3's params: steps is the number of batches an epoch takes.
        split = float(validation_split) if validation_data is None else 0.0
        training_rows = int(len(x) * (1.0 - split)) if split > 0 else len(x)  # as the library splits
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
            x, y, epochs=int(epochs), batch_size=int(batch_size or 32), verbose=_verbose(verbose),
            validation_split=float(validation_split), validation_x=validation_x, validation_y=validation_y,
            shuffle=bool(shuffle), callbacks=callback_list, owner=self, seed=seed,
            dp=None if dp is None else dp.get_config())
        history.epoch, history.history, history.stop_reason = epoch, self._keras_order(values), stop_reason
        self.history = history
        return history

    def _keras_order(self, values):
        """Figures as Keras 3 orders a History and fit's logs: the loss and the compiled metrics
        sorted by name (Keras 3 sorts its logs), then their val_ forms sorted, then what callbacks
        and citadel add (learning_rate, epsilon)."""
        trained = {"loss", *self._native.compile_settings()["metrics"]}
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
        list in compile order (metrics_names), or a dict with return_dict=True."""
        self._check_compiled("evaluate")
        _unsupported("evaluate", sample_weight=(sample_weight, None), steps=(steps, None))
        x = _float32(x, "x")
        model = self._ensure_built(x)
        logs = model.evaluate(x, self._targets(y), int(batch_size or 32))
        if return_dict:  # sorted by name, as Keras 3's
            return dict(sorted(logs.items()))
        values = [logs[name] for name in self.metrics_names if name in logs]  # compile order, as Keras 3's list
        return values[0] if len(values) == 1 else values

    @property
    def metrics_names(self):
        if self._native is None or not self._native.compiled:
            return []
        return ["loss"] + list(self._native.compile_settings()["metrics"])

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The model's outputs for x as a float32 numpy array of its own."""
        _unsupported("predict", steps=(steps, None))
        x = _float32(x, "x")
        model = self._ensure_built(x)
        return model.predict(x, int(batch_size or 32))

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=max(1, len(x)))

    def __call__(self, x, training=False):
        return self.predict(x)

    def train_on_batch(self, x, y):
        """One optimizer step on the batch; returns its loss."""
        self._check_compiled("train_on_batch")
        x = _float32(x, "x")
        model = self._ensure_built(x)
        return model.train_on_batch(x, self._targets(y))

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

    # --- weights and files --------------------------------------------------------------
    def summary(self, print_fn=None, **kwargs):
        model = self._model()
        text = model.summary_text()
        (print_fn or print)(text.rstrip("\n"))

    def count_params(self):
        return self._ensure_built().count_params()

    def get_weights(self):
        return self._ensure_built().get_weights()

    def set_weights(self, weights):
        self._ensure_built().set_weights([_float32(w, "weights") for w in weights])

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
            current[index] = _float32(array, "weights")
        model.set_weights(current)

    def _layer_params(self, layer):
        return sum(int(np.prod(w.shape)) for w in self._layer_weights(layer))

    @property
    def input_shape(self):
        return (None, *self._model().input_shape)

    @property
    def output_shape(self):
        return (None, *self._ensure_built().output_shape)

    def to_json(self, **kwargs):
        return self._ensure_built().to_config()

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
            _citadel.export_keras(self._ensure_built(), path)
            return
        model = self._ensure_built()
        # Encrypted first when asked, then signed over the bytes as stored (path + '.sig').
        model.save(path, os.fspath(secret_key) if secret_key else "", os.fspath(key_file) if key_file else "",
                   passphrase or "")

    def export(self, filepath, format="onnx", opset=13, preprocessing=True):
        """Writes the model for another runtime, as Keras 3's Model.export: format "onnx"
        (opset 13 to 17, checked by ONNX's checker), for ONNX Runtime and the rest. A model
        trained by `citadel train` carries its imputation and scaling into the graph
        (preprocessing=False leaves them out), so the graph takes the columns predict_rows reads."""
        if format != "onnx":
            raise ValueError(f"export: format {format!r} is not offered; 'onnx' is (save to .keras for Keras)")
        _citadel.export_onnx(self._ensure_built(), os.fspath(filepath), opset, preprocessing)

    def save_weights(self, filepath, overwrite=True):
        path = os.fspath(filepath)
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"save_weights: '{path}' exists and overwrite=False")
        if path.lower().endswith(".weights.h5"):  # Keras 3's layout, which Keras's load_weights reads
            _citadel.save_keras_weights(self._ensure_built(), path)
        elif path.lower().endswith(_KERAS_FORMATS):
            raise ValueError(f"save_weights: '{path}': Keras weights are written as .weights.h5 (Keras 3); "
                             "the legacy .h5 layout is read, not written")
        else:
            self._ensure_built().save_weights(path)

    def load_weights(self, filepath):
        path = os.fspath(filepath)
        if path.lower().endswith((".h5", ".hdf5")):  # Keras 3's .weights.h5 or Keras 2's .h5
            _citadel.load_keras_weights(self._ensure_built(), path)
        else:
            self._ensure_built().load_weights(path)

    def __repr__(self):
        return f"<citadel.keras.Sequential name={self.name!r} layers={len(self.layers)}>"


def _from_native(native, name, config_text=None):
    """A Sequential whose layers mirror a native model's configuration."""
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
    if native.compiled:
        settings = native.compile_settings()
        model.optimizer = optimizers.get(settings["optimizer"])
        model.optimizer._model = native
        model.loss = settings["loss"]
        model._compile_args = (settings["loss"], list(settings["metrics"]), mixed_precision.global_policy().name)
    # As Keras builds loaded layers under the global dtype policy (a model file holds none).
    native.set_precision(mixed_precision.global_policy().name)
    return model


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
        native = _citadel.import_keras(path)
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
    if native.input_shape:
        native.build(list(native.input_shape))
    return _from_native(native, "sequential", json_string)


# Keras 3 names this module lacks raise an error that says so (_unsupported.py).
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras.models")
