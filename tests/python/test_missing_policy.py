"""A model file carries how its training rows' missing values were treated: rows read for it
in Python are read the same way unless missing= says otherwise."""
import numpy as np
import pytest

from citadel.keras.models import load_model


def test_a_model_trained_with_mean_imputation_imputes_new_rows(tmp_path, cli, pima_csv):
    model_file = tmp_path / "pima.safetensors"
    cli("train", "--data", pima_csv, "--epochs", "2", "--missing", "mean", "--save", model_file, "--verbose", "0")
    model = load_model(model_file)
    lines = open(pima_csv).read().splitlines()
    header, rows = lines[0], lines[1:11]
    rows[2] = ",".join([""] + rows[2].split(",")[1:])
    table = header + "\n" + "\n".join(rows) + "\n"
    imputed = np.asarray(model.predict_rows(table)["probabilities"])
    assert np.array_equal(imputed, np.asarray(model.predict_rows(table, missing="mean")["probabilities"]))
    assert np.isfinite(imputed).all() and imputed.shape == (10, 2)
    with pytest.raises((ValueError, OSError), match="missing value"):
        model.predict_rows(table, missing="error")
    encoded, _ = model.encode_rows(table, labelled=False)
    assert np.isfinite(np.asarray(encoded)).all()


def test_a_model_trained_without_imputation_refuses_missing_values(tmp_path, cli, pima_csv):
    model_file = tmp_path / "plain.safetensors"
    cli("train", "--data", pima_csv, "--epochs", "1", "--save", model_file, "--verbose", "0")
    model = load_model(model_file)
    lines = open(pima_csv).read().splitlines()
    rows = lines[1:4]
    rows[0] = ",".join([""] + rows[0].split(",")[1:])
    with pytest.raises((ValueError, OSError), match="missing value"):
        model.predict_rows(lines[0] + "\n" + "\n".join(rows) + "\n")
