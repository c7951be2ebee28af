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
