"""Callbacks as keras.callbacks. Subclass Callback and override Keras's hooks
(on_epoch_end(epoch, logs), on_train_batch_end(batch, logs), ...): citadel calls only the
hooks a class overrides. EarlyStopping, ReduceLROnPlateau, LearningRateScheduler, CSVLogger
and TerminateOnNaN run inside citadel; ModelCheckpoint, LambdaCallback and History here."""
import math
import os

from citadel import _citadel

_HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
          "on_train_batch_end"]


class Callback:
    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def _overridden_hooks(self):
        """The hooks this object's class overrides (citadel calls no others)."""
        cls = type(self)
        hooks = [h for h in _HOOKS if getattr(cls, h) is not getattr(Callback, h)]
        for alias, hook in (("on_batch_begin", "on_train_batch_begin"), ("on_batch_end", "on_train_batch_end")):
            if getattr(cls, alias) is not getattr(Callback, alias) and hook not in hooks:
                hooks.append(hook)
        return hooks


class History(Callback):
    """What fit() returns: .history (figure → one value per epoch) and .epoch."""

    def __init__(self, epoch=None, history=None, stop_reason=""):
        super().__init__()
        self.epoch = list(epoch or [])
        self.history = dict(history or {})
        self.stop_reason = stop_reason

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"


class _Native(Callback):
    """A callback computed inside citadel; _native is the library's object."""

    def _overridden_hooks(self):
        return []


def _mode(mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
    return mode


class EarlyStopping(_Native):
    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if baseline is not None:
            raise ValueError("EarlyStopping: baseline is not supported by citadel yet")
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.min_delta, self.restore_best_weights = abs(float(min_delta)), bool(restore_best_weights)
        self._native = _citadel.early_stopping(monitor, self.min_delta, self.patience, _mode(mode),
                                               self.restore_best_weights, int(start_from_epoch))

    @property
    def stopped_epoch(self):
        """The epoch training stopped at (0 when it did not stop), as Keras."""
        return max(0, self._native.stopped_epoch)

    @property
    def best_epoch(self):
        return max(0, self._native.best_epoch)


class ReduceLROnPlateau(_Native):
    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be between 0 and 1, got {factor}")
        self._native = _citadel.reduce_lr_on_plateau(monitor, float(factor), int(patience), _mode(mode),
                                                     float(min_delta), int(cooldown), float(min_lr))


class LearningRateScheduler(_Native):
    """schedule(epoch, lr) -> new rate, called at each epoch's start; one-argument
    schedules (epoch) work too, as in Keras."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        try:
            import inspect
            takes_rate = len(inspect.signature(schedule).parameters) >= 2
        except (TypeError, ValueError):
            takes_rate = True
        call = schedule if takes_rate else (lambda epoch, lr: schedule(epoch))
        self._native = _citadel.learning_rate_scheduler(lambda epoch, lr: float(call(epoch, lr)))


class TerminateOnNaN(_Native):
    def __init__(self):
        super().__init__()
        self._native = _citadel.terminate_on_nan()


class CSVLogger(_Native):
    """Writes each epoch's figures to a CSV file, rewritten atomically after every epoch."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self._native = _citadel.csv_logger(self.filename, separator, bool(append))


class LambdaCallback(Callback):
    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, on_batch_begin=None, on_batch_end=None):
        super().__init__()
        self._functions = {
            "on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
            "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin or on_batch_begin,
            "on_train_batch_end": on_train_batch_end or on_batch_end}

    def _overridden_hooks(self):
        return [hook for hook, function in self._functions.items() if function is not None]

    def on_epoch_begin(self, epoch, logs=None):
        self._functions["on_epoch_begin"](epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._functions["on_epoch_end"](epoch, logs)

    def on_train_begin(self, logs=None):
        self._functions["on_train_begin"](logs)

    def on_train_end(self, logs=None):
        self._functions["on_train_end"](logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._functions["on_train_batch_begin"](batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._functions["on_train_batch_end"](batch, logs)


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after epochs, as keras.callbacks.ModelCheckpoint:
    filepath may hold {epoch} and figures ({val_loss:.2f}); save_best_only keeps the best
    by `monitor`. Files are citadel model files, written atomically."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint: only save_freq='epoch' is supported by citadel yet")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = bool(save_best_only), bool(save_weights_only)
        if not self.save_weights_only:  # as Keras 3, before training rather than at the first save
            from citadel.keras.models import check_save_path
            check_save_path(self.filepath, "ModelCheckpoint")
        mode = _mode(mode)
        if mode == "auto":
            accuracy_like = any(k in monitor for k in ("acc", "precision", "recall", "auc", "f1"))
            mode = "max" if accuracy_like else "min"
        self._better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
        self.best = initial_value_threshold if initial_value_threshold is not None else (
            math.inf if mode == "min" else -math.inf)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise ValueError(f"ModelCheckpoint: monitor '{self.monitor}' is not among the figures "
                                 f"{sorted(logs)}")
            if not self._better(current, self.best):
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


# Keras 3 names this module lacks raise an error that says so (_unsupported.py).
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras.callbacks")
