"""citadel.provenance (served-answer watermarks) from Python: logs written here in the server's
record format (compact JSON, a space, its CRC-32), tested against a model whose answers we know,
each p-value recomputed as an exact binomial tail with math.comb."""
import base64
import json
import math
import os
import zlib

import numpy as np
import pytest

import citadel
from citadel import provenance
from citadel.keras import layers
from citadel.keras.models import Sequential

CLASSES, FEATURES = 4, 6


def tail(k, n, p):
    """P[Binomial(n, p) >= k], summed exactly in rationals' stead with math.comb."""
    return sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k, n + 1))


def classifier():
    model = Sequential([layers.Dense(CLASSES, input_dim=FEATURES, activation="softmax")])
    model.build((None, FEATURES))
    return model


def write_log(path, rows, labels):
    with open(path, "w") as log:
        for i, (row, label) in enumerate(zip(rows, labels)):
            record = {"model": "m", "token": "alice", "input": "features", "shape": [FEATURES],
                      "row": base64.b64encode(np.asarray(row, "<f4").tobytes()).decode(),
                      "label": int(label), "class": f"class{int(label)}", "classes": CLASSES,
                      "tag": f"{i:032x}", "time": "2026-12-07T00:00:00Z"}
            text = json.dumps(record, separators=(",", ":"))
            log.write(f"{text} {zlib.crc32(text.encode()):08x}\n")


@pytest.fixture
def answered(tmp_path):
    """A model, 90 rows and its answers (argmax) on them."""
    model = classifier()
    rows = np.random.default_rng(3).normal(size=(90, FEATURES)).astype(np.float32)
    top = np.asarray(model.predict(rows, verbose=0)).argmax(axis=1)
    return model, rows, top


@pytest.mark.parametrize("learnt", [90, 40, 25, 0])
def test_p_value_is_the_binomial_tail_against_one_over_c_minus_one(tmp_path, answered, learnt):
    model, rows, top = answered
    # The first `learnt` records carry the model's own answer (a surrogate that learnt them); the
    # rest a label it does not answer.
    labels = [t if i < learnt else (t + 1 + i % (CLASSES - 1)) % CLASSES for i, t in enumerate(top)]
    log = tmp_path / "watermark.log"
    write_log(log, rows, labels)
    verdict = provenance.watermark_verify(log, model, alpha=1e-3)
    assert verdict["queries"] == len(rows) and verdict["records"] == len(rows)
    assert verdict["matches"] == learnt and verdict["classes"] == CLASSES
    assert verdict["null_probability"] == pytest.approx(1 / (CLASSES - 1))
    expected = tail(learnt, len(rows), 1 / (CLASSES - 1))
    assert verdict["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert verdict["claimed"] == (expected < 1e-3)
    # The same through a callable answering class indices, and fewer queries.
    first = provenance.watermark_verify(log, lambda x: model.predict(x, verbose=0).argmax(axis=1), max_queries=30)
    assert first["queries"] == 30 and first["matches"] == min(learnt, 30)
    assert first["p_value"] == pytest.approx(tail(min(learnt, 30), 30, 1 / (CLASSES - 1)), rel=1e-9, abs=1e-300)


def test_a_claim_needs_more_than_chance(tmp_path, answered):
    model, rows, top = answered
    # 40 of 90 at 1/3 (p about 0.018) is not below alpha 1e-3: not claimed; 90 of 90 is.
    labels = [t if i < 40 else (t + 1) % CLASSES for i, t in enumerate(top)]
    write_log(tmp_path / "a.log", rows, labels)
    assert not provenance.watermark_verify(tmp_path / "a.log", model)["claimed"]
    write_log(tmp_path / "b.log", rows, top)
    assert provenance.watermark_verify(tmp_path / "b.log", model)["claimed"]


def test_damaged_logs_and_wrong_suspects_are_refused(tmp_path, answered):
    model, rows, top = answered
    log = tmp_path / "w.log"
    write_log(log, rows[:5], top[:5])
    text = log.read_text().replace('"label":', '"label": ', 1)
    (tmp_path / "edited.log").write_text(text)
    with pytest.raises(ValueError, match="checksum"):
        provenance.watermark_verify(tmp_path / "edited.log", model)
    with pytest.raises(ValueError, match="class indices"):
        provenance.watermark_verify(log, lambda x: np.zeros(len(x) + 1))
    def raising(x):
        raise KeyError("the suspect's own error")
    with pytest.raises(KeyError, match="own error"):  # a callable's exception reaches the caller
        provenance.watermark_verify(log, raising)
    with pytest.raises(ValueError, match="alpha"):
        provenance.watermark_verify(log, model, alpha=2)
    saved = tmp_path / "m.safetensors"
    model.save(str(saved))
    with pytest.raises(ValueError, match="schema"):
        provenance.watermark_verify(log, str(saved))


def test_keygen_writes_a_private_key_once(tmp_path):
    key = tmp_path / "wm.key"
    provenance.watermark_keygen(key)
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert key.read_text().startswith("citadel-watermark-key ")
    with pytest.raises(Exception):
        provenance.watermark_keygen(key)
    before = key.read_text()
    provenance.watermark_keygen(key, overwrite=True)
    assert key.read_text() != before


# Trigger-set watermarks in model files: the set from the key, and a model file tested against it.
def test_trigger_set_is_the_keys_and_the_cli_file_is_claimed(tmp_path):
    import subprocess
    key, other = tmp_path / "owner.key", tmp_path / "other.key"
    provenance.watermark_keygen(key)
    provenance.watermark_keygen(other)
    a = provenance.trigger_set(key, (FEATURES,), CLASSES, size=50, low=-1, high=2)
    again = provenance.trigger_set(key, [FEATURES], CLASSES, size=50, low=-1, high=2)
    b = provenance.trigger_set(other, (FEATURES,), CLASSES, size=50, low=-1, high=2)
    assert a["x"].shape == (50, FEATURES) and a["x"].dtype == np.float32 and a["labels"].shape == (50,)
    assert np.array_equal(a["x"], again["x"]) and np.array_equal(a["labels"], again["labels"])
    assert a["commitment"] == again["commitment"] and len(a["commitment"]) == 64
    assert not np.array_equal(a["x"], b["x"]) and a["commitment"] != b["commitment"]
    assert a["x"].min() >= -1 and a["x"].max() < 2 and set(a["labels"]) <= set(range(CLASSES))
    assert a["key_id"] != b["key_id"] and a["key_id"] not in key.read_text()

    # An untrained classifier is not claimed against a set it never saw.
    verdict = provenance.trigger_set_verify(key, classifier())
    assert verdict["trials"] == 100 and verdict["classes"] == CLASSES and not verdict["claimed"]
    assert verdict["p_value"] == pytest.approx(tail(verdict["matches"], 100, 1 / CLASSES), rel=1e-9)

    # A model file trained with the watermark by the CLI: claimed, its record matching.
    width = 8  # random rows in 8 features stand apart from the blobs enough to be learnt in seconds
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=2.5, size=(CLASSES, width))
    labels = rng.integers(0, CLASSES, size=1000)
    rows = centres[labels] + rng.normal(size=(1000, width))
    csv = tmp_path / "four.csv"
    csv.write_text(",".join(f"f{i}" for i in range(width)) + ",label\n" +
                   "".join(",".join(f"{v:.5f}" for v in r) + f",c{k}\n" for r, k in zip(rows, labels)))
    model_file = tmp_path / "marked.safetensors"
    subprocess.run([os.environ["CITADEL_BINARY"], "train", "--verbose", "0", "--data", str(csv), "--epochs", "60",
                    "--layers", "128:relu,4:softmax", "--watermark-trigger-set", str(key), "--save",
                    str(model_file)], check=True)
    claimed = provenance.trigger_set_verify(key, model_file)
    assert claimed["claimed"] and claimed["p_value"] < 1e-9 and claimed["trigger_accuracy"] >= 0.9
    assert claimed["commitment_in_file"] == "matches"
    assert claimed["p_value"] == pytest.approx(tail(claimed["matches"], 100, 1 / CLASSES), rel=1e-9)
    wrong = provenance.trigger_set_verify(other, model_file)
    assert not wrong["claimed"] and wrong["commitment_in_file"] == "differs"
