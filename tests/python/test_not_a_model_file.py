"""load_model on files that are not citadel model files (CSV data, a report, a Keras archive
under another name, ONNX, ...): citadel.FileError says what the file looks like and what the
user probably meant, not a header length."""
import gzip
import io
import zipfile

import pytest

import citadel
from citadel.keras.models import load_model


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:  # a .keras file's layout
        archive.writestr("config.json", "{}")
        archive.writestr("metadata.json", "{}")
    return buffer.getvalue()


MISTAKEN = [
    ("data.csv", lambda pima: open(pima, "rb").read(), "looks like CSV data"),
    ("run.html", lambda pima: b"<!DOCTYPE html>\n<html><head><title>run</title></head></html>\n",
     "looks like an HTML page"),
    ("report.json", lambda pima: b'{"accuracy": 0.75, "loss": 0.5}\n', "looks like JSON"),
    ("downloaded_model", lambda pima: zip_bytes(), "citadel import"),
    ("weights.bin", lambda pima: b"\x89HDF\r\n\x1a\n" + bytes(64), "citadel import"),
    ("model.onnx", lambda pima: b"\x08\x07\x12\x07citadel\x1a\x050.1.0", "ONNX"),
    ("model.safetensors.gz", lambda pima: gzip.compress(b"\x08" + bytes(7) + b"{}"), "gzip"),
]


@pytest.mark.parametrize("name,contents,hint", MISTAKEN, ids=[m[0] for m in MISTAKEN])
def test_load_model_says_what_the_file_is(tmp_path, pima_csv, name, contents, hint):
    path = tmp_path / name
    path.write_bytes(contents(pima_csv))
    with pytest.raises(citadel.FileError) as error:
        load_model(path)
    message = str(error.value)
    assert f"{path} is not a citadel model file (it does not start like a safetensors file)" in message
    assert hint in message
    assert "header length" not in message


def test_a_real_model_file_still_loads(tmp_path):
    from citadel.keras import layers
    from citadel.keras.models import Sequential
    model = Sequential([layers.Dense(1, input_dim=3)])
    model.compile(loss="mse", optimizer="sgd")
    model.build()
    model.save(tmp_path / "model.safetensors")
    assert load_model(tmp_path / "model.safetensors").count_params() == 4
