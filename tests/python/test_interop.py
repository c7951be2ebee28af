"""Interop from Python: load_model reads Keras files (written here by h5py, in Keras 3's
layout), save writes Keras 3 .keras files laid out as Keras lays them, and export writes
ONNX graphs whose outputs, computed by an evaluator of ONNX's own operator definitions
(and by ONNX Runtime when a virtual environment has it), equal citadel's predictions."""
import io
import json
import os
import re
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import citadel
from citadel.keras import layers
from citadel.keras.models import Sequential, load_model

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop"))
import keras_files  # noqa: E402
import onnx_reference  # noqa: E402


def w1():
    model = Sequential([layers.Dense(10, input_dim=8, activation="relu"), layers.Dense(10, activation="relu"),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    return model, np.random.default_rng(1).uniform(0, 1, (64, 8)).astype(np.float32)


def w2():
    model = Sequential([layers.Flatten(input_shape=(28, 28, 1)), layers.Dense(256, activation="relu"),
                        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model, np.random.default_rng(2).uniform(0, 1, (16, 28, 28, 1)).astype(np.float32)


def w3():
    model = Sequential([layers.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D(2),
                        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model, np.random.default_rng(3).uniform(0, 1, (8, 28, 28, 1)).astype(np.float32)


def batchnorm():
    """Trained a little, so its moving statistics are not the initial zeros and ones."""
    model = Sequential([layers.Conv2D(6, 3, padding="same", input_shape=(10, 10, 2)), layers.BatchNormalization(),
                        layers.Activation("relu"), layers.AveragePooling2D(2, padding="same"), layers.Flatten(),
                        layers.Dense(8, activation="elu"), layers.BatchNormalization(), layers.Dropout(0.4),
                        layers.Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    rng = np.random.default_rng(4)
    x = rng.normal(2.0, 3.0, (96, 10, 10, 2)).astype(np.float32)
    model.fit(x, rng.integers(0, 3, (96, 1)).astype(np.float32), epochs=2, batch_size=16, verbose=0)
    return model, x[:12]


MODELS = {"w1": w1, "w2": w2, "w3": w3, "batchnorm": batchnorm}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exported_onnx_computes_what_citadel_predicts(tmp_path, name):
    model, x = MODELS[name]()
    path = tmp_path / f"{name}.onnx"
    model.export(path)
    expected = model.predict(x, verbose=0)
    got = onnx_reference.run(str(path), x)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-5


def test_batch_normalization_is_exported_with_keras_epsilon(tmp_path):
    import onnx
    model, _ = batchnorm()
    model.export(tmp_path / "bn.onnx")
    graph = onnx.load(str(tmp_path / "bn.onnx")).graph
    epsilons = [onnx.helper.get_attribute_value(a) for n in graph.node if n.op_type == "BatchNormalization"
                for a in n.attribute if a.name == "epsilon"]
    assert len(epsilons) == 2 and all(abs(e - 1e-3) < 1e-9 for e in epsilons)
    assert not [n for n in graph.node if n.op_type == "Dropout"]


def onnxruntime_python():
    """A Python that has onnxruntime (scripts/setup_clients installs it into build/venv-clients)."""
    candidate = os.environ.get("CITADEL_ONNXRUNTIME_PYTHON", "")
    if candidate and os.path.exists(candidate) and subprocess.run(
            [candidate, "-c", "import onnxruntime"], capture_output=True).returncode == 0:
        return candidate
    return None


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_runtime_computes_what_citadel_predicts(tmp_path, name):
    python = onnxruntime_python()
    if python is None:
        pytest.skip("onnxruntime is not installed (scripts/setup_clients puts it in build/venv-clients)")
    model, x = MODELS[name]()
    model.export(tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", x)
    script = ("import numpy as np, onnxruntime as ort, sys; d = sys.argv[1]; "
              "s = ort.InferenceSession(d + '/m.onnx', providers=['CPUExecutionProvider']); "
              "np.save(d + '/y.npy', s.run(['output'], {'input': np.load(d + '/x.npy')})[0])")
    subprocess.run([python, "-c", script, str(tmp_path)], check=True, timeout=120)
    assert np.abs(np.load(tmp_path / "y.npy") - model.predict(x, verbose=0)).max() <= 1e-5


def test_a_saved_keras_file_is_laid_out_as_keras_3_lays_it_out(tmp_path):
    model, x = batchnorm()
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
        metadata = json.loads(archive.read("metadata.json"))
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    assert metadata["keras_version"].startswith("3.")
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    entries = config["config"]["layers"]
    assert [e["class_name"] for e in entries] == ["InputLayer", "Conv2D", "BatchNormalization", "Activation",
                                                  "AveragePooling2D", "Flatten", "Dense", "BatchNormalization",
                                                  "Dropout", "Dense"]
    assert entries[0]["config"]["batch_shape"] == [None, 10, 10, 2]
    assert all(e["module"] == "keras.layers" and e["registered_name"] is None for e in entries)
    # Keras 3 keeps weights under the class name in snake case, numbered, trainable first.
    assert sorted(weights["layers"].keys()) == ["activation", "average_pooling2d", "batch_normalization",
                                                "batch_normalization_1", "conv2d", "dense", "dense_1", "dropout",
                                                "flatten"]
    by_layer = model.get_weights()
    stored = [weights[f"layers/{group}/vars/{i}"][()] for group, count in
              (("conv2d", 2), ("batch_normalization", 4), ("dense", 2), ("batch_normalization_1", 4), ("dense_1", 2))
              for i in range(count)]
    assert len(stored) == len(by_layer)
    for a, b in zip(stored, by_layer):
        assert a.dtype == np.float32 and np.array_equal(a, b)
    assert weights["layers/batch_normalization/vars"].attrs["name"] == entries[2]["config"]["name"]


def test_a_saved_keras_file_loads_back_bit_identically(tmp_path):
    for name in sorted(MODELS):
        model, x = MODELS[name]()
        model.save(tmp_path / f"{name}.keras")
        back = load_model(tmp_path / f"{name}.keras")
        for a, b in zip(model.get_weights(), back.get_weights()):
            assert np.array_equal(a, b), name
        assert np.array_equal(model.predict(x, verbose=0), back.predict(x, verbose=0)), name


def test_load_model_reads_files_written_by_h5py_as_numpy_computes(tmp_path):
    keras_files.write_all(str(tmp_path))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for entry in manifest["good"]:
        if "config" in entry:
            continue  # weights-only files need their config: the CLI's --config
        model = load_model(tmp_path / entry["file"])
        y = model.predict(np.asarray(entry["x"], dtype=np.float32), verbose=0)
        assert np.abs(y - np.asarray(entry["y"])).max() <= 1e-5, entry["file"]
    for entry in manifest["hostile"]:
        if "config" in entry:
            continue
        refused = (ValueError, OSError, NotImplementedError, citadel.SecurityError)
        with pytest.raises(refused, match=re.escape(entry["error"])):
            load_model(tmp_path / entry["file"])


def test_keras_files_are_imported_never_run_or_protected(tmp_path):
    model, _ = w1()
    with pytest.raises(ValueError, match="cannot be signed or encrypted"):
        model.save(tmp_path / "m.keras", passphrase="secret")
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="custom_objects are code"):
        load_model(tmp_path / "m.keras", custom_objects={"f": print})
    with pytest.raises(ValueError, match="'onnx' is"):
        model.export(tmp_path / "m.pb", format="tf_saved_model")


def test_an_imported_model_predicts_csv_rows_through_the_cli(tmp_path, cli):
    keras_files.write_all(str(tmp_path))
    entry = json.loads((tmp_path / "manifest.json").read_text())["good"][0]  # dense.keras, classes no/yes
    cli("import", tmp_path / entry["file"], "--output", tmp_path / "imported.safetensors", "--classes", "no,yes")
    rows = np.asarray(entry["x"])
    csv = tmp_path / "rows.csv"
    csv.write_text(",".join(f"x{i}" for i in range(8)) + "\n" +
                   "\n".join(",".join(repr(float(v)) for v in row) for row in rows) + "\n")
    cli("predict", "--model", tmp_path / "imported.safetensors", "--input", csv, "--output", tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0].split(",")[1:] == ["predicted", "p_no", "p_yes"]
    for line, expected in zip(lines[1:], entry["y"]):
        fields = line.split(",")
        assert abs(float(fields[3]) - expected[0]) <= 1e-5
        assert fields[1] == ("yes" if expected[0] >= 0.5 else "no")


@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_a_trained_model_exports_its_imputation_and_scaling_so_onnx_takes_raw_columns(tmp_path, cli, pima_csv,
                                                                                     scaling):
    model_file = tmp_path / "pima.safetensors"
    cli("train", "--data", pima_csv, "--epochs", "2", "--missing", "mean", "--scale", scaling, "--save", model_file,
        "--verbose", "0")
    model = load_model(model_file)
    lines = open(pima_csv).read().splitlines()
    header, rows = lines[0], lines[1:41]
    rows[3] = ",".join([""] + rows[3].split(",")[1:])  # a missing value, imputed with the training mean
    table = header + "\n" + "\n".join(rows) + "\n"
    expected = np.asarray(model.predict_rows(table, missing="mean")["probabilities"])[:, 1]
    raw = np.asarray([[float(v) if v else np.nan for v in row.split(",")[:-1]] for row in rows], dtype=np.float32)
    model.export(tmp_path / "pima.onnx")
    assert np.abs(onnx_reference.run(str(tmp_path / "pima.onnx"), raw)[:, 0] - expected).max() <= 1e-5
    # The CLI writes the same graph; without its preprocessing it takes scaled features.
    cli("export", model_file, "--format", "onnx", "--output", tmp_path / "cli.onnx")
    assert np.abs(onnx_reference.run(str(tmp_path / "cli.onnx"), raw)[:, 0] - expected).max() <= 1e-5
    cli("export", model_file, "--format", "onnx", "--output", tmp_path / "bare.onnx", "--no-preprocessing")
    encoded, _ = model.encode_rows(table, labelled=False, missing="mean")
    assert np.abs(onnx_reference.run(str(tmp_path / "bare.onnx"), np.asarray(encoded))[:, 0] - expected).max() <= 1e-5


def test_keras_weights_files_save_and_load_as_keras_does(tmp_path):
    model, x = batchnorm()
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        assert f["layers/conv2d/vars/0"].shape == (3, 3, 2, 6)
        assert f["layers/batch_normalization_1/vars"].attrs["name"] == model.layers[6].name
    fresh, _ = batchnorm()
    assert not np.array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    fresh.load_weights(tmp_path / "m.weights.h5")
    assert np.array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    # Weights of another architecture are refused, and the model keeps its own.
    other, _ = w1()
    before = other.get_weights()
    with pytest.raises((ValueError, OSError), match="which no layer of the model's config has|shaped"):
        other.load_weights(tmp_path / "m.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))
    with pytest.raises(ValueError, match="read, not written"):
        model.save_weights(tmp_path / "m.h5")
