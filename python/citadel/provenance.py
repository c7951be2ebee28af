"""Ownership watermarks on served answers (DAWN): the secret key `citadel serve --watermark`
keys its choices with, and the test of a suspect model against the log of watermarked answers
(docs/SECURITY.md, "Ownership watermarks on served answers", holds what the test shows)."""
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
