"""citadel.keras behaves as Keras 3 (not tf.keras 2) where a program or a reader sees it: the
order of the History's keys, fit's params, and the progress lines. The expected values are
Keras 3.15's, from running real Keras 3 (JAX backend) on the same program; scripts/compare_keras
checks them against a live Keras 3 (scripts/keras_habits.py)."""
import os
import re
import subprocess
import sys
import textwrap

import numpy as np

from citadel.keras import callbacks, layers
from citadel.keras.models import Sequential

# What Keras 3 printed and returned for this program (200 rows, validation_split=0.25, batch 32).
PROGRAM = textwrap.dedent("""
    import sys
    import numpy as np
    from citadel.keras import callbacks, layers
    from citadel.keras.models import Sequential
    x = np.random.default_rng(0).random((200, 8)); y = (x[:, :1] > 0.5).astype("float32")
    model = Sequential([layers.Dense(10, input_dim=8, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy", "auc", "mse"])
    model.fit(x, y, epochs=2, batch_size=32, verbose=int(sys.argv[1]), validation_split=0.25,
              callbacks=[callbacks.LearningRateScheduler(lambda epoch, rate: rate)])
""")
KERAS3_KEYS = ["accuracy", "auc", "loss", "mse", "val_accuracy", "val_auc", "val_loss", "val_mse", "learning_rate"]
V = r"\d\.\d{4}"
FIGURES = "".join(f" - {key}: {V}" for key in KERAS3_KEYS)
KERAS3_VERBOSE_1 = re.compile(r"5/5 " + "\u2501" * 20 + r" \d+s \d+(s|ms|us)/step" + FIGURES)
KERAS3_VERBOSE_2 = re.compile(r"5/5 - \d+s - \d+(s|ms|us)/step" + FIGURES)


def run_program(verbose):
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(verbose)], capture_output=True, timeout=120,
                            env=dict(os.environ, CITADEL_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode("utf-8").splitlines()


def test_history_keys_come_in_keras_3s_order():
    x = np.random.default_rng(0).random((200, 8))
    y = (x[:, :1] > 0.5).astype("float32")
    model = Sequential([layers.Dense(10, input_dim=8, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy", "auc", "mse"])
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, validation_split=0.25,
                        callbacks=[callbacks.LearningRateScheduler(lambda epoch, rate: rate)])
    assert list(history.history) == KERAS3_KEYS
    # Keras 3's params: the verbosity, the epochs and the steps (batches) of an epoch: 150 rows of 32.
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 5}
    assert list(model.evaluate(x, y, verbose=0, return_dict=True)) == ["accuracy", "auc", "loss", "mse"]


def test_a_callback_sees_keras_3s_params_before_training():
    seen = {}

    class Params(callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.update(self.params)

    x = np.zeros((100, 3))
    model = Sequential([layers.Dense(1, input_dim=3)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x, np.zeros((100, 1)), epochs=1, batch_size=16, verbose=0, callbacks=[Params()])
    assert seen == {"verbose": 0, "epochs": 1, "steps": 7}  # ceil(100 / 16)


def test_verbose_1_draws_keras_3s_bar_with_its_figures_in_its_order():
    lines = run_program(1)
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for line in (lines[1], lines[3]):
        assert KERAS3_VERBOSE_1.fullmatch(line), line
        assert "[" not in line and "\x1b" not in line  # no tf.keras 2 bar; no colour codes in a pipe


def test_verbose_2_prints_keras_3s_line_per_epoch():
    lines = run_program(2)
    assert [lines[0], lines[2]] == ["Epoch 1/2", "Epoch 2/2"]
    for line in (lines[1], lines[3]):
        assert KERAS3_VERBOSE_2.fullmatch(line), line
