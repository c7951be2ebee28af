"""citadel.robustness (randomized smoothing) from Python: a logistic model's certificates
against its exact distance to the boundary, each bound recomputed by an exact binomial
bisection, PREDICT's abstentions, and the certified accuracy curve recomputed by hand."""
import math

import numpy as np
import pytest

from citadel import robustness
from citadel.keras import layers
from citadel.keras.models import Sequential


def logistic(w, b):
    model = Sequential([layers.Dense(1, input_dim=len(w), activation="sigmoid")])
    model.build((None, len(w)))
    model.set_weights([np.array(w, np.float32).reshape(-1, 1), np.array([b], np.float32)])
    return model


def clopper_pearson_lower(k, n, alpha):
    """The p at which P[Binomial(n, p) >= k] = alpha, by bisection on the exact tail sum."""
    if k == 0:
        return 0.0
    def tail(p):
        return sum(math.exp(math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1)
                            + j * math.log(p) + (n - j) * math.log1p(-p)) for j in range(k, n + 1))
    low, high = 0.0, 1.0
    for _ in range(80):
        middle = (low + high) / 2
        low, high = (middle, high) if tail(middle) < alpha else (low, middle)
    return (low + high) / 2


def normal_quantile(p):
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if 0.5 * math.erfc(-middle / math.sqrt(2)) < p else (low, middle)
    return (low + high) / 2


def test_certificates_of_a_logistic_model_never_pass_its_boundary():
    w, b, sigma = [0.6, -0.8], 0.1, 0.4  # |w| = 1: w·x + b is the signed distance
    model = logistic(w, b)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (30, 2)).astype(np.float32)
    distance = x @ np.array(w, np.float32) + b
    certificates = robustness.certify(model, x, sigma=sigma, n0=50, n=1500, alpha=0.001, seed=2)
    assert len(certificates) == 30
    certified = 0
    for c, d in zip(certificates, distance):
        assert c["samples"] == 1500
        lower = clopper_pearson_lower(c["count"], 1500, 0.001)
        assert c["probability_lower"] == pytest.approx(lower, abs=1e-6)
        if c["predicted"] is None:
            assert lower < 0.5 and c["radius"] == 0
            continue
        certified += 1
        assert c["predicted"] == int(d > 0)
        assert c["radius"] == pytest.approx(sigma * normal_quantile(lower), abs=1e-5)
        assert c["radius"] <= abs(d) + 1e-4, "a certificate past the boundary"
    assert certified >= 15
    labels = (distance > 0).astype(np.float32)
    curve = robustness.certified_accuracy(certificates, labels, [0, 0.2, 0.5])
    for radius, accuracy in curve:
        by_hand = sum(c["predicted"] == int(l) and c["radius"] >= radius for c, l in zip(certificates, labels)) / 30
        assert accuracy == pytest.approx(by_hand)
    assert curve[0][1] >= curve[1][1] >= curve[2][1]


def test_predict_abstains_on_the_boundary_and_answers_far_from_it():
    model = logistic([1.0, 0.0], 0.0)
    x = np.array([[0.0, 0.0], [2.0, 0.0], [-2.0, 0.0]], np.float32)
    answers = robustness.predict(model, x, sigma=0.5, n=2000, alpha=0.001, seed=4)
    assert answers == [None, 1, 0]


def test_bad_arguments_are_refused_by_name():
    model = logistic([1.0, 0.0], 0.0)
    x = np.zeros((1, 2), np.float32)
    with pytest.raises(ValueError, match="sigma"):
        robustness.certify(model, x, sigma=0)
    with pytest.raises(ValueError, match="alpha"):
        robustness.certify(model, x, alpha=1.5)
    with pytest.raises(ValueError, match="certificates"):
        robustness.certified_accuracy([], np.zeros(2), [0])


def test_interval_bounds_verify_a_logistic_model_exactly_where_its_margin_allows():
    # For a linear model the L-inf distance to the boundary is |w.x + b| / ||w||_1: a row is
    # verified at epsilon exactly when it is right and that distance exceeds epsilon.
    w, b = [1.5, -2.0, 0.5], 0.25
    model = logistic(w, b)
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, size=(200, 3)).astype(np.float32)
    y = (rng.uniform(size=200) < 0.5).astype(np.float32).reshape(-1, 1)
    score = x.astype(np.float64) @ np.array(w) + b
    distance = np.abs(score) / np.abs(np.array(w)).sum()
    right = (score >= 0) == (y.reshape(-1) == 1)
    for epsilon in (0.05, 0.2, 0.5):
        expected = right & (distance > epsilon + 1e-5)
        unsure = np.abs(distance - epsilon) <= 1e-5  # float32 rounding at the edge
        got = np.array(robustness.verified_rows(model, x, y, epsilon))
        assert (got[~unsure] == expected[~unsure]).all()
    curve = robustness.verified_accuracy(model, x, y, [0.0, 0.2])
    assert curve[0][1] == pytest.approx(right.mean(), abs=1 / 200)
    assert curve[1][1] <= curve[0][1]


def test_interval_bounds_refuse_a_layer_they_cannot_bound():
    model = Sequential([layers.Dense(4, input_dim=3, activation="gelu"), layers.Dense(2, activation="softmax")])
    model.build((None, 3))
    with pytest.raises(ValueError, match="not monotone"):
        robustness.verified_rows(model, np.zeros((2, 3), np.float32), np.zeros((2, 1), np.float32), 0.1)
