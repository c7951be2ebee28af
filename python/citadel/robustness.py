"""Certified robustness of citadel.keras classifiers.

Randomized smoothing (Cohen, Rosenfeld and Kolter, ICML 2019): the smoothed classifier answers
with the class the model gives most often to x plus N(0, sigma²) noise, and each certificate
proves that answer within an L2 radius, wrong with probability at most alpha. The model takes
one input; train it on inputs with the same noise added (`citadel train
--gaussian-augmentation SIGMA`; in Python, noisy copies of x given to fit).

Interval bound propagation (Gowal et al. 2018): verified_rows and verified_accuracy prove that
no input within an L-inf radius epsilon changes the model's own class (train it with `citadel
train --certified-training ibp` for the bounds to be tight enough to prove anything)."""
import math

from citadel import _citadel
from citadel.keras._structures import float32 as _float32


def _options(sigma, n0, n, alpha, batch_size, seed):
    return {"sigma": float(sigma), "n0": int(n0), "n": int(n), "alpha": float(alpha),
            "batch_size": int(batch_size), "seed": int(seed)}


def _native(model, x):
    xs = model._inputs(x)
    if len(xs) != 1:
        raise ValueError(f"model '{model.name}' has {len(xs)} inputs; randomized smoothing here takes a model of one")
    return model._ensure_built(xs), xs[0]


def certify(model, x, sigma=0.25, n0=100, n=100000, alpha=0.001, batch_size=1000, seed=0):
    """CERTIFY for every row of x: a list of dicts with predicted (a class index, or None where
    it abstains), radius (the certified L2 radius, 0 when abstaining), probability_lower (the
    top class's probability bounded below at level alpha), count and samples (its count among
    the n estimation copies)."""
    native, rows = _native(model, x)
    return _citadel.smoothing_certify(native, rows, _options(sigma, n0, n, alpha, batch_size, seed))


def predict(model, x, sigma=0.25, n=100000, alpha=0.001, batch_size=1000, seed=0):
    """PREDICT for every row of x: the smoothed classifier's class, or None where the binomial
    test of its top two counts does not reject a tie at level alpha."""
    native, rows = _native(model, x)
    return _citadel.smoothing_predict(native, rows, _options(sigma, 1, n, alpha, batch_size, seed))


def certified_accuracy(certificates, y, radii):
    """The share of rows whose certificate names their label (class indices, or one-hot rows)
    at a radius of at least r, for each r in radii: a list of (radius, accuracy)."""
    labels = _float32(y, "y")
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1)
    labels = labels.reshape(-1).astype(int)
    if len(labels) != len(certificates):
        raise ValueError(f"certified_accuracy: {len(certificates)} certificates for {len(labels)} labels")
    total = max(len(certificates), 1)
    return [(float(r), sum(c["predicted"] is not None and c["predicted"] == label and c["radius"] >= r
                           for c, label in zip(certificates, labels)) / total) for r in radii]


def verified_rows(model, x, y, epsilon, clip_min=-math.inf, clip_max=math.inf):
    """For every row of x, whether interval bounds prove that every input within L-inf epsilon
    of it (and inside [clip_min, clip_max]) is classified as its label y (class indices, or
    one-hot rows): a list of bools. The model is a chain of Dense, Conv, pooling, Flatten,
    Reshape, Dropout and monotone activation layers; any other layer is refused by name."""
    native, rows = _native(model, x)
    return _citadel.interval_verified_rows(native, rows, _float32(y, "y"), float(epsilon), float(clip_min),
                                           float(clip_max))


def verified_accuracy(model, x, y, epsilons, clip_min=-math.inf, clip_max=math.inf):
    """The share of rows verified at each epsilon: a list of (epsilon, accuracy), a lower bound
    on the accuracy under any L-inf attack of that size."""
    result = []
    for epsilon in epsilons:
        rows = verified_rows(model, x, y, epsilon, clip_min, clip_max)
        result.append((float(epsilon), sum(rows) / max(len(rows), 1)))
    return result
