"""Bad input is a Python exception of the class a Keras user expects, with citadel's
message; fit releases the GIL and stops on Ctrl-C with the model usable."""
import _thread
import threading
import time

import numpy as np
import pytest

import citadel
from citadel.keras import layers
from citadel.keras.models import Sequential, load_model

from conftest import separable


def model_for(features=4):
    model = Sequential([layers.Dense(8, input_dim=features, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_shape_mistakes_are_value_errors_naming_what_is_wrong():
    x, y = separable(20, 4)
    model = model_for(4)
    with pytest.raises(ValueError, match="8"):
        model.fit(np.zeros((20, 8)), y, verbose=0)
    with pytest.raises(ValueError):
        model.fit(x, y[:10], verbose=0)
    with pytest.raises(ValueError, match=r"binary_crossentropy: row 0 has target 3, which must lie in \[0, 1\]"):
        model.fit(x, np.full((20, 1), 3.0), verbose=0)  # not 0/1 targets


def test_unknown_names_are_value_errors_listing_the_known_ones():
    with pytest.raises(ValueError, match="relu"):
        Sequential([layers.Dense(3, input_dim=2, activation="relux")]).build()
    model = Sequential([layers.Dense(1, input_dim=2)])
    with pytest.raises(ValueError, match="mse|mean_squared_error"):
        model.compile(optimizer="adam", loss="no_such_loss")
    with pytest.raises(ValueError, match="adam"):
        model.compile(optimizer="adamz", loss="mse")
    with pytest.raises(ValueError, match="accuracy"):
        model.compile(optimizer="adam", loss="mse", metrics=["no_such_metric"])


def test_wrong_types_are_type_errors_and_unknown_arguments_value_errors_as_in_keras_3():
    with pytest.raises(ValueError, match="no_such_argument"):
        layers.Dense(3, no_such_argument=1)
    with pytest.raises(TypeError):
        Sequential().add("Dense")
    model = model_for()
    with pytest.raises(TypeError):
        model.predict([["a", "b", "c", "d"]])
    with pytest.raises(TypeError):
        model.compile(optimizer="adam", loss=lambda y, p: 0)


def test_unsupported_keras_settings_are_refused_not_ignored():
    with pytest.raises(ValueError, match="kernel_constraint"):
        layers.Dense(3, kernel_constraint="max_norm")
    model = model_for()
    x, y = separable(20, 4)
    with pytest.raises(NotImplementedError, match="sample_weight"):
        model.fit(x, y, sample_weight=np.ones(20), verbose=0)


def test_fit_before_compile_is_a_value_error_as_in_keras_3():
    model = Sequential([layers.Dense(1, input_dim=2)])
    with pytest.raises(ValueError, match="compile"):
        model.fit(np.zeros((4, 2)), np.zeros((4, 1)))


def test_files_that_are_missing_or_malformed_are_os_errors_and_value_errors(tmp_path):
    with pytest.raises(OSError, match="nowhere.safetensors"):
        load_model(tmp_path / "nowhere.safetensors")
    with pytest.raises(ValueError, match="nowhere.safetensors"):  # what Keras 3's load_model raises
        load_model(tmp_path / "nowhere.safetensors")
    assert issubclass(citadel.FileError, OSError) and issubclass(citadel.FileError, ValueError)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    with pytest.raises(OSError, match="junk.safetensors"):
        load_model(junk)
    with pytest.raises(OSError, match="model.keras"):  # a Keras file is imported, and this one is not there
        load_model(tmp_path / "model.keras")
    with pytest.raises(ValueError, match="legacy .h5"):  # read, not written
        model_for().save(tmp_path / "model.h5")


def test_fit_releases_the_gil():
    x, y = separable(20000, 4)
    model = model_for()
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1

    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.05)
        before = counter[0]
        model.fit(x, y, epochs=40, batch_size=32, verbose=0)
        during = counter[0] - before
    finally:
        stop.set()
        thread.join()
    # With the GIL held for the whole fit, the counting thread could not have run at all.
    assert during > 10000


def test_ctrl_c_stops_fit_between_steps_and_the_model_stays_usable():
    x, y = separable(2000, 4)
    model = model_for()
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=100000, batch_size=16, verbose=0)
    timer.join()
    assert time.monotonic() - started < 10
    predictions = model.predict(x)
    assert np.all(np.isfinite(predictions))
    assert len(model.fit(x, y, epochs=1, verbose=0).epoch) == 1


def test_two_threads_share_one_model_safely():
    x, y = separable(500, 4)
    model = model_for()
    model.fit(x, y, epochs=1, verbose=0)
    expected = model.predict(x)
    results, errors = [], []

    def predict_many():
        try:
            for _ in range(50):
                results.append(model.predict(x))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=predict_many) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 150
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_the_error_for_a_foreign_interpreter_names_it():
    assert "python3" in citadel._citadel.built_for
