"""The Keras habits a user relies on, run on one framework and written as JSON, so that
scripts/compare_keras can hold citadel's answers against real Keras's.

Usage: keras_habits.py citadel|keras  (for keras: a Keras 3 with a CPU backend importable)
"""
import json
import os
import re
import sys
import tempfile

import numpy as np

framework = sys.argv[1]
if framework == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import callbacks, layers
    from keras.models import Sequential, load_model
    keras.utils.set_random_seed(1)
    extension = ".keras"
else:
    import citadel
    from citadel.keras import callbacks, layers
    from citadel.keras.models import Sequential, load_model
    citadel.set_seed(1)
    extension = ".safetensors"

rng = np.random.default_rng(0)
x = rng.random((200, 8))
y = rng.integers(0, 2, size=(200, 1))
facts = {}


def reference(metrics=("accuracy",)):
    model = Sequential()
    model.add(layers.Dense(10, input_dim=8, activation="relu"))  # the reference program, verbatim
    model.add(layers.Dense(10, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=list(metrics))
    return model


def error_class(function):
    try:
        function()
    except Exception as error:  # noqa: BLE001 - the class is the fact
        for base in (ValueError, TypeError, OSError, RuntimeError, KeyError, NotImplementedError):
            if isinstance(error, base):
                return base.__name__
        return type(error).__name__
    return None


def printed(function):
    """What `function` writes to file descriptor 1 (citadel's progress lines go there, Keras's
    through sys.stdout), as a terminal would show it: the last redraw of each line, without
    escape codes, with the numbers that vary from run to run masked (figures V, times T)."""
    sys.stdout.flush()
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(1)
        os.dup2(capture.fileno(), 1)
        try:
            function()
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8")
    lines = []
    for line in re.sub(r"\x1b\[[0-9;]*m", "", text).split("\n"):
        line = line.split("\r")[-1].replace("\b", "").rstrip()
        line = re.sub(r": -?\d+\.\d+(e[-+]\d+)?", ": V", line)
        line = re.sub(r"\b\d+(s|ms|us)/step", "T/step", line)
        line = re.sub(r"(?<=[ ])\d+s\b", "Ts", line)
        if line:
            lines.append(line)
    return lines


class Params(callbacks.Callback):
    def on_train_begin(self, logs=None):
        facts.setdefault("fit_params", dict(self.params))


model = reference()
history = model.fit(x, y, epochs=3, batch_size=32, verbose=0, validation_split=0.25, callbacks=[Params()])
facts["history_keys"] = list(history.history)
facts["history_params"] = dict(history.params)
three = reference(["accuracy", "auc", "mse"])
facts["history_keys_three_metrics_and_a_schedule"] = list(three.fit(
    x, y, epochs=1, batch_size=32, verbose=0, validation_split=0.25,
    callbacks=[callbacks.LearningRateScheduler(lambda epoch, rate: rate)]).history)
for verbose in (1, 2):
    facts[f"progress_lines_verbose_{verbose}"] = printed(lambda: reference(["accuracy", "mse"]).fit(
        x, y, epochs=2, batch_size=32, verbose=verbose, validation_split=0.25,
        callbacks=[callbacks.LearningRateScheduler(lambda epoch, rate: rate)]))
facts["history_value_type"] = sorted({type(v).__name__ for values in history.history.values() for v in values})
facts["history_lengths"] = sorted({len(values) for values in history.history.values()})
facts["history_epoch"] = list(history.epoch)
facts["history_is_model_history"] = model.history is history if hasattr(model, "history") else None

value = model.evaluate(x, y, verbose=0)
facts["evaluate_with_metrics"] = [type(value).__name__, len(value)]
facts["evaluate_dict_keys"] = list(model.evaluate(x, y, verbose=0, return_dict=True))
plain = Sequential([layers.Dense(1, input_dim=8)])
plain.compile(loss="mse", optimizer="sgd")
plain.fit(x, y, epochs=1, verbose=0)
facts["evaluate_loss_only_is_float"] = isinstance(plain.evaluate(x, y, verbose=0), float)

p = model.predict(x, verbose=0)
facts["predict"] = [type(p).__name__, str(p.dtype), list(p.shape)]
facts["weights_shapes"] = [list(w.shape) for w in model.get_weights()]
facts["weights_types"] = sorted({type(w).__name__ for w in model.get_weights()})
lines = []
model.summary(print_fn=lambda line, *a, **k: lines.append(line))
facts["summary_has_total_params"] = any("Total params" in line for line in lines)
facts["count_params"] = model.count_params()


class StopAtTwo(callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        facts.setdefault("callback_logs_keys", sorted(logs))
        if epoch == 1:
            self.model.stop_training = True


facts["stopped_after_epochs"] = len(reference().fit(x, y, epochs=10, verbose=0, callbacks=[StopAtTwo()]).epoch)
stopper = callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=10.0)
facts["early_stopping_epochs"] = len(reference().fit(x, y, epochs=10, verbose=0, callbacks=[stopper]).epoch)
scheduled = reference().fit(x, y, epochs=2, verbose=0,
                            callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 * (epoch + 1))])
facts["scheduler_logs_learning_rate"] = [round(float(v), 6) for v in scheduled.history.get("learning_rate", [])]

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model" + extension)
    model.save(path)
    facts["save_load_identical"] = bool(np.array_equal(load_model(path).predict(x, verbose=0), p))
    facts["error_load_missing"] = error_class(lambda: load_model(os.path.join(folder, "missing" + extension)))
    facts["error_save_without_extension"] = error_class(lambda: model.save(os.path.join(folder, "model")))
    facts["save_without_extension_wrote"] = os.path.exists(os.path.join(folder, "model"))

facts["error_predict_wrong_width"] = error_class(lambda: model.predict(np.zeros((4, 5)), verbose=0))
facts["error_unknown_activation"] = error_class(lambda: reference().add(layers.Dense(3, activation="relux")) or
                                                Sequential([layers.Dense(3, activation="relux")]).build((None, 2)))
facts["error_unknown_loss"] = error_class(lambda: reference().compile(loss="no_such_loss", optimizer="adam"))
facts["error_unknown_optimizer"] = error_class(lambda: reference().compile(loss="mse", optimizer="adamz"))
facts["error_unknown_layer_argument"] = error_class(lambda: layers.Dense(3, no_such_argument=1))


def fit_uncompiled():
    m = Sequential([layers.Dense(1, input_dim=8)])
    m.fit(x, y, epochs=1, verbose=0)


facts["error_fit_uncompiled"] = error_class(fit_uncompiled)
json.dump(facts, sys.stdout, indent=1, sort_keys=True)
print()
