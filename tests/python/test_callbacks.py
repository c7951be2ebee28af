"""Callbacks: Python subclasses called with Keras's logs, and citadel's own."""
import csv
import math

import numpy as np
import pytest

from citadel.keras import callbacks, layers, optimizers
from citadel.keras.models import Sequential, load_model

from conftest import separable


def small_model(learning_rate=0.01, optimizer=None):
    model = Sequential([layers.Dense(8, input_dim=4, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizer or optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin", dict(logs or {})))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))
        logs["twice_loss"] = 2 * logs["loss"]  # figures a callback adds enter the History

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, logs["loss"]))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


def test_a_python_callback_sees_every_hook_with_keras_logs():
    x, y = separable(100, 4)
    recorder = Recorder()
    model = small_model()
    history = model.fit(x, y, epochs=2, batch_size=25, verbose=0, validation_split=0.2, callbacks=[recorder])
    kinds = [e[0] for e in recorder.events]
    assert kinds == (["train_begin"] + (["epoch_begin"] + ["batch_end"] * 4 + ["epoch_end"]) * 2 + ["train_end"])
    assert recorder.model is model
    assert [e[1] for e in recorder.events if e[0] == "batch_end"] == [0, 1, 2, 3] * 2
    assert all(math.isfinite(e[2]) for e in recorder.events if e[0] == "batch_end")
    ends = [e for e in recorder.events if e[0] == "epoch_end"]
    for (_, epoch, logs) in ends:
        assert set(logs) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert logs["loss"] == history.history["loss"][epoch]
    assert history.history["twice_loss"] == [2 * v for v in history.history["loss"]]


def test_a_python_callback_stops_training_as_in_keras():
    class StopAfterTwo(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    x, y = separable(100, 4)
    history = small_model().fit(x, y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert history.epoch == [0, 1]
    assert history.stop_reason


def test_a_callback_stops_within_an_epoch_from_a_batch_hook():
    class StopAtBatch(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):  # Keras's older alias
            if batch == 2:
                self.model.stop_training = True

    x, y = separable(100, 4)
    history = small_model().fit(x, y, epochs=10, batch_size=10, verbose=0, callbacks=[StopAtBatch()])
    assert len(history.epoch) <= 1


def test_an_exception_in_a_callback_reaches_the_caller_and_the_model_stays_usable():
    class Broken(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ZeroDivisionError("from the callback")

    x, y = separable(50, 4)
    model = small_model()
    with pytest.raises(ZeroDivisionError, match="from the callback"):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[Broken()])
    assert model.predict(x).shape == (50, 1)
    assert len(model.fit(x, y, epochs=2, verbose=0).epoch) == 2


def test_early_stopping_stops_when_the_monitored_figure_stalls():
    x, y = separable(100, 4)
    model = small_model()
    stopper = callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=10.0)  # no change counts
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[stopper])
    assert history.epoch == [0, 1, 2]
    assert stopper.stopped_epoch == 2


def test_early_stopping_restores_the_best_weights():
    x, y = separable(200, 4)
    model = small_model(learning_rate=0.5)  # large steps: val_loss wanders
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(x, y, epochs=40, verbose=0, validation_split=0.3, callbacks=[stopper])
    best = min(history.history["val_loss"])
    assert model.evaluate(x[140:], y[140:])[0] == pytest.approx(best, rel=1e-5)


def test_learning_rate_scheduler_sets_each_epochs_rate():
    x, y = separable(64, 4)
    model = small_model()
    seen = []
    scheduler = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    watcher = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[scheduler, watcher])
    expected = [0.1 * 0.5 ** e for e in range(4)]
    assert history.history["learning_rate"] == pytest.approx(expected, rel=1e-6)
    assert seen == pytest.approx(expected, rel=1e-6)
    one_argument = callbacks.LearningRateScheduler(lambda epoch: 0.02)
    assert small_model().fit(x, y, epochs=1, verbose=0, callbacks=[one_argument]).history["learning_rate"] == \
        pytest.approx([0.02])


def test_reduce_lr_on_plateau_lowers_the_rate():
    x, y = separable(64, 4)
    model = small_model(optimizer=optimizers.SGD(learning_rate=0.01))
    reducer = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    rates = []
    watcher = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: rates.append(model.optimizer.learning_rate))
    model.fit(x, y, epochs=5, verbose=0, callbacks=[reducer, watcher])
    # No epoch improves by 10: after the first, each epoch past the patience halves the rate.
    assert rates[0] == pytest.approx(0.01)
    assert model.optimizer.learning_rate < 0.01 * 0.5 ** 2 * 1.0001
    assert all(b <= a for a, b in zip(rates, rates[1:]))


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    x, y = separable(64, 4)
    path = tmp_path / "log.csv"
    history = small_model().fit(x, y, epochs=3, verbose=0, callbacks=[callbacks.CSVLogger(path)])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["loss"]) for r in rows] == pytest.approx(history.history["loss"], rel=1e-5)


def test_terminate_on_nan_stops_calmly_and_without_it_fit_raises():
    x, y = separable(40, 4)
    x[5, 0] = np.nan
    history = small_model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.epoch) <= 1
    with pytest.raises(ValueError, match="NaN|nan"):
        small_model().fit(x, y, epochs=3, batch_size=8, verbose=0)


def test_model_checkpoint_keeps_the_best_model(tmp_path):
    x, y = separable(200, 4)
    model = small_model(learning_rate=0.05)
    pattern = str(tmp_path / "best.safetensors")
    history = model.fit(x, y, epochs=8, verbose=0, validation_split=0.25,
                        callbacks=[callbacks.ModelCheckpoint(pattern, monitor="val_loss", save_best_only=True)])
    restored = load_model(pattern)
    assert restored.evaluate(x[150:], y[150:])[0] == pytest.approx(min(history.history["val_loss"]), rel=1e-5)
    every = str(tmp_path / "epoch_{epoch:02d}.safetensors")
    small_model().fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(every, monitor="loss")])
    assert sorted(p.name for p in tmp_path.glob("epoch_*")) == ["epoch_01.safetensors", "epoch_02.safetensors"]
