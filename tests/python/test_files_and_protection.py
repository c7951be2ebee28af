"""Model files across Python and the citadel tool, signatures and encryption from Python."""
import csv
import io
import json

import numpy as np
import pytest

import citadel
from citadel import protect
from citadel.keras import layers
from citadel.keras.models import Sequential, load_model, model_from_json

from conftest import separable


def trained_model():
    x, y = separable(200, 4)
    model = Sequential([layers.Dense(8, input_dim=4, activation="relu", name="hidden"), layers.Dropout(0.2),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, verbose=0)
    return model, x


def test_save_and_load_give_bit_identical_predictions_and_the_compile_settings(tmp_path):
    model, x = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)
    restored = load_model(path)
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))
    assert [l.name for l in restored.layers] == [l.name for l in model.layers]
    assert restored.layers[0].name == "hidden"
    assert [type(l).__name__ for l in restored.layers] == ["Dense", "Dropout", "Dense"]
    assert restored.metrics_names == ["loss", "accuracy"]
    assert restored.evaluate(x, (x[:, :1] + x[:, 1:2] > 1)) == pytest.approx(
        model.evaluate(x, (x[:, :1] + x[:, 1:2] > 1)))
    restored.fit(x, (x[:, :1] + x[:, 1:2] > 1), epochs=1, verbose=0)  # compiled as saved: trains on
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)


def test_to_json_round_trips_the_architecture():
    model, x = trained_model()
    again = model_from_json(model.to_json())
    assert json.loads(again.to_json()) == json.loads(model.to_json())
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_weights_files_round_trip(tmp_path):
    model, x = trained_model()
    model.save_weights(tmp_path / "w.safetensors")
    other = Sequential([layers.Dense(8, input_dim=4, activation="relu", name="hidden"), layers.Dropout(0.2),
                        layers.Dense(1, activation="sigmoid")])
    other.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_a_python_model_file_is_read_by_the_citadel_tool(tmp_path, cli):
    model, _ = trained_model()
    path = tmp_path / "python_model.safetensors"
    model.save(path)
    info = cli("info", path).stdout
    assert "dense" in info and "Dense" in info


def test_a_model_trained_by_the_tool_predicts_raw_rows_in_python_and_back(tmp_path, cli, pima_csv):
    trained = tmp_path / "pima.safetensors"
    cli("train", "--data", pima_csv, "--epochs", 5, "--seed", 3, "--verbose", 0, "--save", trained)
    cli("predict", "--model", trained, "--input", pima_csv, "--output", tmp_path / "tool.csv")
    model = load_model(trained)
    with open(pima_csv) as f:
        text = f.read()
    result = model.predict_rows(text)
    with open(tmp_path / "tool.csv") as f:
        rows = list(csv.DictReader(f))
    assert result["labels"] == [r["predicted"] for r in rows]
    columns = [f"p_{name}" for name in result["class_names"]]
    expected = np.array([[float(r[c]) for c in columns] for r in rows])
    np.testing.assert_allclose(result["probabilities"], expected, atol=5.1e-7)  # the tool writes 6 decimals
    # The same rows as dicts, without pandas.
    reader = csv.DictReader(io.StringIO(text))
    dicts = [{k: v for k, v in row.items() if k != "target"} for row in reader]
    np.testing.assert_array_equal(model.predict_rows(dicts[:50])["probabilities"], result["probabilities"][:50])
    with pytest.raises(ValueError, match="rows\\[1\\].*BMI"):
        model.predict_rows([dicts[0], {k: v for k, v in dicts[1].items() if k != "BMI"}])
    # Saved again from Python, the tool predicts byte for byte as before.
    resaved = tmp_path / "resaved.safetensors"
    model.save(resaved)
    cli("predict", "--model", resaved, "--input", pima_csv, "--output", tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "tool.csv").read_bytes()


def test_predict_rows_needs_a_schema():
    model, _ = trained_model()
    with pytest.raises(ValueError, match="schema"):
        model.predict_rows([{"a": 1}])


def test_signed_models_load_with_the_public_key_and_tampering_is_refused(tmp_path):
    model, x = trained_model()
    public, secret = tmp_path / "k.pub", tmp_path / "k.key"
    protect.keygen(public, secret)
    assert (secret.stat().st_mode & 0o777) == 0o600
    path = tmp_path / "signed.safetensors"
    model.save(path, secret_key=secret)
    assert "model" in protect.verify(path, public)
    np.testing.assert_array_equal(load_model(path, public_key=public).predict(x), model.predict(x))
    unsigned = tmp_path / "unsigned.safetensors"
    model.save(unsigned)
    with pytest.raises(citadel.SecurityError):
        load_model(unsigned, public_key=public)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1  # one bit of one weight
    path.write_bytes(bytes(data))
    with pytest.raises(citadel.SecurityError):
        protect.verify(path, public)
    with pytest.raises(citadel.SecurityError):
        load_model(path, public_key=public)


def test_encrypted_models_decrypt_in_memory_and_a_wrong_key_is_refused(tmp_path):
    model, x = trained_model()
    key, other = tmp_path / "a.key", tmp_path / "b.key"
    protect.encryption_keygen(key)
    protect.encryption_keygen(other)
    path = tmp_path / "secret.safetensors"
    model.save(path, key_file=key)
    assert protect.is_encrypted(path)
    assert b"dense" not in path.read_bytes()
    np.testing.assert_array_equal(load_model(path, key_file=key).predict(x), model.predict(x))
    with pytest.raises(citadel.SecurityError):
        load_model(path, key_file=other)
    with pytest.raises(citadel.SecurityError):
        load_model(path)  # encrypted, and no key given
    protect.decrypt(path, tmp_path / "plain.safetensors", key_file=key)
    np.testing.assert_array_equal(load_model(tmp_path / "plain.safetensors").predict(x), model.predict(x))
    protect.encrypt(tmp_path / "plain.safetensors", tmp_path / "pass.safetensors", passphrase="correct horse")
    np.testing.assert_array_equal(load_model(tmp_path / "pass.safetensors", passphrase="correct horse").predict(x),
                                  model.predict(x))
    with pytest.raises(citadel.SecurityError):
        load_model(tmp_path / "pass.safetensors", passphrase="wrong horse")
    # Encrypted and signed: the signature covers the ciphertext and is checked before decrypting.
    public, secret = tmp_path / "k.pub", tmp_path / "k.key"
    protect.keygen(public, secret)
    both = tmp_path / "both.safetensors"
    model.save(both, secret_key=secret, key_file=key)
    np.testing.assert_array_equal(load_model(both, public_key=public, key_file=key).predict(x), model.predict(x))
    data = bytearray(both.read_bytes())
    data[len(data) // 2] ^= 1
    both.write_bytes(bytes(data))
    with pytest.raises(citadel.SecurityError):
        load_model(both, public_key=public, key_file=key)


def test_save_without_a_model_file_extension_is_refused_as_keras_3_refuses_it(tmp_path):
    model, _ = trained_model()
    for name in ("model", "model.bin", "weights.npz"):
        with pytest.raises(ValueError, match=r"has no model file extension; add \.safetensors .* or \.keras"):
            model.save(tmp_path / name)
        assert not (tmp_path / name).exists()
    from citadel.keras import callbacks
    with pytest.raises(ValueError, match=r"ModelCheckpoint: .*has no model file extension"):
        callbacks.ModelCheckpoint(str(tmp_path / "checkpoint_{epoch}"))
    callbacks.ModelCheckpoint(str(tmp_path / "w_{epoch}"), save_weights_only=True)  # weights: any name
    model.save(tmp_path / "Model.SafeTensors")  # the extension in any case
    assert load_model(tmp_path / "Model.SafeTensors").count_params() == model.count_params()


def test_a_cli_model_of_several_outputs_resaved_from_python_keeps_its_version(cli, tmp_path):
    # A model of several outputs trained by the CLI is format_version 3 (older readers refuse
    # it by version); saving it again from Python must keep that, not fall back to 2.
    import struct
    rows = ["x1,x2,kind,amount"]
    for i in range(60):
        x1, x2 = (i % 11 - 5) / 5, ((i * 7) % 13 - 6) / 6
        rows.append(f"{x1},{x2},{'big' if x1 + x2 > 0 else 'small'},{2 * x1 - x2}")
    data = tmp_path / "orders.csv"
    data.write_text("\n".join(rows) + "\n")
    config = tmp_path / "two_outputs.json"
    config.write_text(json.dumps({"class_name": "Functional", "config": {"name": "two", "layers": [
        {"class_name": "InputLayer", "name": "features",
         "config": {"batch_input_shape": [None, 2], "name": "features"}, "inbound_nodes": []},
        {"class_name": "Dense", "name": "kind_out", "config": {"name": "kind_out", "units": 1, "activation": "sigmoid"},
         "inbound_nodes": [[["features", 0, 0, {}]]]},
        {"class_name": "Dense", "name": "amount_out", "config": {"name": "amount_out", "units": 1},
         "inbound_nodes": [[["features", 0, 0, {}]]]}],
        "input_layers": [["features", 0, 0]], "output_layers": [["kind_out", 0, 0], ["amount_out", 0, 0]]}}))
    trained = tmp_path / "orders.safetensors"
    cli("train", "--data", data, "--model-config", config, "--epochs", 2, "--verbose", 0, "--label", "kind_out=kind",
        "--label", "amount_out=amount", "--loss", "amount_out=mse", "--save", trained)

    def metadata(path):
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            return json.loads(f.read(length))["__metadata__"]

    assert metadata(trained)["format_version"] == "3"
    from citadel.keras.models import load_model
    resaved = tmp_path / "resaved.safetensors"
    load_model(trained).save(resaved)
    again = metadata(resaved)
    assert again["format_version"] == "3"
    assert [o["name"] for o in json.loads(again["schema"])["outputs"]] == ["kind_out", "amount_out"]
