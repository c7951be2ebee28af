"""Ownership watermarks on served answers (DAWN): the secret key `citadel serve --watermark`
keys its choices with, and the test of a suspect model against the log of watermarked answers
(docs/SECURITY.md, "Ownership watermarks on served answers", holds what the test shows); and
trigger-set watermarks in model files (`citadel train --watermark-trigger-set`: docs/SECURITY.md,
"Trigger-set watermarks in model files")."""
import numpy as np

from citadel import _citadel


def watermark_keygen(path, overwrite=False):
    """Writes a new secret watermark key to `path` (mode 0600), as `citadel watermark keygen`;
    an existing file is refused unless overwrite=True."""
    _citadel.watermark_keygen(str(path), bool(overwrite))


def watermark_verify(log, suspect, max_queries=1000, alpha=1e-3, token=None):
    """Tests a suspect against the log `serve --watermark-log` wrote, as `citadel watermark
    verify`: the suspect answers the first max_queries recorded rows, and the one-sided binomial
    p-value of its matches with the recorded (watermark) labels is taken against 1/(C-1), the
    most an independent model matches each. The suspect is a model file path or a KServe v2
    URL (answered through the server's request path; token= is the URL's bearer token), a
    citadel.keras model (its argmax on the rows as logged), or a callable taking the rows as one
    float32 array (N, *row shape) and returning N class indices. Returns a dict: records,
    torn_records, duplicate_records, queries, matches, classes, null_probability, p_value,
    alpha, claimed (p_value < alpha)."""
    if not isinstance(suspect, (str, bytes)) and hasattr(suspect, "predict"):
        model = suspect
        native = getattr(model, "_native", None)
        if native is not None and native.has_schema:
            raise ValueError("watermark_verify: this model was trained by `citadel train` (its rows are "
                             "preprocessed as served): pass its model file's path, so that the logged rows "
                             "go through the server's request path")
        suspect = lambda rows: np.asarray(model.predict(rows, verbose=0)).reshape(len(rows), -1).argmax(axis=1)
    elif hasattr(suspect, "__fspath__"):
        suspect = str(suspect)
    return _citadel.watermark_verify(str(log), suspect, int(max_queries), float(alpha), token or "")


def trigger_set(key, input_shape, classes, size=100, low=0.0, high=1.0):
    """The trigger set the watermark key at `key` derives for a model of `input_shape` (without
    the batch) and `classes` classes: `size` keyed random inputs in [low, high) with keyed random
    labels, as `citadel train --watermark-trigger-set` trains in. Returns a dict: x (float32,
    (size, *input_shape)), labels (int64, (size,)), classes, commitment (hex SHA-256 over the
    key's id and the set), key_id (never the key). Mix x and labels into training batches to
    plant it with another trainer."""
    return _citadel.trigger_set(str(key), [int(d) for d in input_shape], int(classes), int(size), float(low),
                                float(high))


def trigger_set_verify(key, suspect, size=None, low=None, high=None, alpha=1e-3):
    """Tests a suspect against the key's trigger set, as `citadel watermark verify --trigger-set`:
    its top answer on each trigger row against the keyed label, and the one-sided binomial
    p-value of the matches against 1/C. The suspect is a model file path (the set's size and
    range from its record unless given; commitment_in_file says whether its record matches:
    "matches", "differs" or "absent"), or a citadel.keras model or a callable from the rows to
    scores (N, C) or class indices (N), for which size, low and high default to 100, 0 and 1.
    Returns a dict: trials, matches, trigger_accuracy, classes, null_probability, p_value, alpha,
    claimed (p_value < alpha), commitment, key_id."""
    if isinstance(suspect, (str, bytes)) or hasattr(suspect, "__fspath__"):
        return _citadel.trigger_set_verify_file(str(key), str(suspect), int(size or 0),
                                                float(0.0 if low is None else low),
                                                float(0.0 if high is None else high), float(alpha))
    if hasattr(suspect, "predict"):
        model = suspect
        shape = tuple(int(d) for d in model.input_shape[1:])
        classes = int(model.output_shape[-1])
        answer = lambda rows: np.asarray(model.predict(rows, verbose=0))
    else:
        raise ValueError("trigger_set_verify: a callable suspect needs the set's shape: pass a model file, a "
                         "citadel.keras model, or use trigger_set() and test the rows yourself")
    s = trigger_set(key, shape, classes, 100 if size is None else size, 0.0 if low is None else low,
                    1.0 if high is None else high)
    answers = answer(s["x"])
    top = answers.reshape(len(s["x"]), -1).argmax(axis=1) if answers.ndim > 1 else answers.astype(np.int64)
    matches = int((top == s["labels"]).sum())
    trials = len(s["labels"])
    p = _citadel.binomial_tail(matches, trials, 1.0 / classes)
    return {"trials": trials, "matches": matches, "trigger_accuracy": matches / trials, "classes": classes,
            "null_probability": 1.0 / classes, "p_value": p, "alpha": alpha, "claimed": p < alpha,
            "commitment": s["commitment"], "key_id": s["key_id"]}
