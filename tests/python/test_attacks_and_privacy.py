"""Attacks, DP-SGD and membership audits from Python, checked against independent
computations and against the citadel tool."""
import json

import numpy as np
import pytest

import citadel
from citadel import attacks, privacy
from citadel.keras import layers, optimizers
from citadel.keras.models import Sequential

from conftest import separable


def logistic_model():
    x, y = separable(300, 4)
    model = Sequential([layers.Dense(1, input_dim=4, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, verbose=0)
    return model, x, y


def test_fgsm_is_one_signed_gradient_step_computed_independently():
    model, x, y = logistic_model()
    kernel, bias = model.get_weights()
    p = 1 / (1 + np.exp(-(x @ kernel + bias)))
    gradient_sign = np.sign((p - y) * kernel.T)  # ∂BCE/∂x of a logistic unit, per row
    epsilon = 0.05
    expected = np.clip(x + epsilon * gradient_sign, 0, 1)
    adversarial = attacks.fgsm(model, x, y, epsilon)
    assert adversarial.shape == x.shape and adversarial.dtype == np.float32
    np.testing.assert_allclose(adversarial, expected, atol=1e-6)
    assert np.abs(adversarial - x).max() <= epsilon + 1e-6


def test_pgd_stays_in_its_ball_and_lowers_accuracy_more_as_epsilon_grows():
    model, x, y = logistic_model()
    adversarial = attacks.pgd(model, x, y, 0.1, steps=10, seed=1)
    assert np.abs(adversarial - x).max() <= 0.1 + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    curve = attacks.robustness_curve(model, x, y, [0.0, 0.05, 0.2])
    assert [point["epsilon"] for point in curve] == [0.0, 0.05, 0.2]
    assert curve[0]["accuracy"] == pytest.approx(model.evaluate(x, y)[1])
    assert curve[0]["accuracy"] > curve[1]["accuracy"] > curve[2]["accuracy"]


def test_dp_sgd_reports_the_epsilon_the_tool_computes(cli, tmp_path):
    x, y = separable(1000, 4)
    model = Sequential([layers.Dense(8, input_dim=4, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=50, verbose=0,
                        dp=privacy.DPSGD(l2_norm_clip=1.0, noise_multiplier=1.1))
    epsilons = history.history["epsilon"]
    assert len(epsilons) == 3 and epsilons[0] < epsilons[1] < epsilons[2]
    assert epsilons[-1] == pytest.approx(privacy.compute_epsilon(1000, 50, 3, 1.1), rel=1e-12)
    report = tmp_path / "dp.json"
    cli("dp-budget", "--samples", 1000, "--batch-size", 50, "--epochs", 3, "--noise", 1.1, "--report", report)
    with open(report) as f:
        assert json.load(f)["epsilon"] == pytest.approx(epsilons[-1], rel=1e-12)


def test_dp_sgd_noise_is_fresh_unless_reproducible_is_asked_for():
    x, y = separable(400, 4)

    def train(dp):
        citadel.set_seed(5)
        model = Sequential([layers.Dense(1, input_dim=4, activation="sigmoid")])
        model.compile(optimizer=optimizers.SGD(0.1), loss="binary_crossentropy")
        model.fit(x, y, epochs=2, batch_size=40, verbose=0, seed=2, dp=dp)
        return model.get_weights()[0]

    private = privacy.DPSGD(noise_multiplier=1.0)
    assert not np.array_equal(train(private), train(private))  # same seed, different noise
    fixed = privacy.DPSGD(noise_multiplier=1.0, reproducible=True)
    np.testing.assert_array_equal(train(fixed), train(fixed))


def test_dp_target_epsilon_finds_the_noise():
    noise = privacy.noise_multiplier_for(1000, 50, 3, target_epsilon=2.0)
    assert privacy.compute_epsilon(1000, 50, 3, noise) <= 2.0
    assert privacy.compute_epsilon(1000, 50, 3, noise * 0.99) > 2.0


def test_membership_audit_sees_an_overfit_model_leak_more_than_a_fitted_one():
    generator = np.random.default_rng(0)
    x = generator.random((200, 10)).astype(np.float32)
    y = generator.integers(0, 2, (200, 1)).astype(np.float32)  # random labels: only memorizing helps
    model = Sequential([layers.Dense(64, input_dim=10, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="binary_crossentropy")
    model.fit(x[:100], y[:100], epochs=200, batch_size=20, verbose=0)
    results = privacy.membership_audit(model, x[:100], y[:100], x[100:], y[100:], calibrated=False)
    assert results and all(r["members"] == 100 and r["non_members"] == 100 for r in results)
    assert max(r["auc"] for r in results) > 0.7


def test_membership_audit_and_attacks_agree_with_the_tool_on_a_saved_model(tmp_path, cli, pima_csv):
    model_file = tmp_path / "pima.safetensors"
    cli("train", "--data", pima_csv, "--epochs", 20, "--seed", 4, "--verbose", 0, "--save", model_file)
    with open(pima_csv) as f:
        lines = f.read().splitlines(keepends=True)
    members, non_members = tmp_path / "members.csv", tmp_path / "non_members.csv"
    members.write_text("".join(lines[:301]))
    non_members.write_text(lines[0] + "".join(lines[301:601]))
    report = tmp_path / "audit.json"
    cli("audit", "--model", model_file, "--train", members, "--holdout", non_members, "--reference-epochs", 5,
        "--seed", 9, "--report", report)
    with open(report) as f:
        tool = {a["attack"]: a for a in json.load(f)["attacks"]}
    from citadel.keras.models import load_model
    model = load_model(model_file)
    x_in, y_in = model.encode_rows(members.read_text())
    x_out, y_out = model.encode_rows(non_members.read_text())
    assert x_in.shape == (300, 8) and y_in.shape == (300, 1)
    ours = {a["attack"]: a for a in privacy.membership_audit(model, x_in, y_in, x_out, y_out, reference_epochs=5,
                                                             seed=9)}
    assert set(ours) == set(tool)
    for name in tool:
        assert ours[name]["auc"] == pytest.approx(tool[name]["auc"], abs=1e-12)
        assert ours[name]["tpr_at_1_percent_fpr"] == pytest.approx(tool[name]["tpr_at_1_percent_fpr"], abs=1e-12)
    # Labelled rows as dicts encode as the CSV text does.
    import csv
    import io
    dicts = list(csv.DictReader(io.StringIO(members.read_text())))
    x_dicts, y_dicts = model.encode_rows(dicts)
    np.testing.assert_array_equal(x_dicts, x_in)
    np.testing.assert_array_equal(y_dicts, y_in)


def test_lira_trains_its_shadows_and_reports_low_false_positive_figures():
    x, y = separable(300, 4, seed=5)
    flipped = y.copy()
    flipped[::5] = 1 - flipped[::5]  # noisy labels: what a member's model memorizes
    model = Sequential([layers.Dense(64, input_dim=4, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.02), loss="binary_crossentropy")
    model.fit(x[:150], flipped[:150], epochs=80, verbose=0)
    results = privacy.lira(model, x[:150], flipped[:150], x[150:], flipped[150:], shadows=4, epochs=80, seed=3)
    assert [r["attack"] for r in results] == ["lira_online", "lira_offline"]
    for r in results:
        assert r["members"] == 150 and r["non_members"] == 150
        assert 0 <= r["tpr_at_0_1_percent_fpr"] <= r["tpr_at_1_percent_fpr"] <= 1
        assert r["epsilon_lower_bound"] >= 0
    baseline = privacy.membership_audit(model, x[:150], flipped[:150], x[150:], flipped[150:], calibrated=False)
    assert "epsilon_lower_bound" in baseline[0]
    assert results[0]["auc"] > 0.55, results  # the memorized flips give members away
    with pytest.raises(ValueError, match="compile"):
        privacy.lira(Sequential([layers.Dense(1, input_dim=4, activation="sigmoid")]), x, y, x, y)


def test_dp_audit_sets_a_lower_bound_below_the_accountants_epsilon():
    x, y = separable(400, 4, seed=9)
    model = Sequential([layers.Dense(16, input_dim=4, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="binary_crossentropy")
    result = privacy.dp_audit(model, x, y, epochs=3, batch_size=50, target_epsilon=4.0, gradient_canaries=50,
                              input_canaries=16, seed=1)
    # The accountant's ε is the one asked for (the noise is searched for it), and the audit of a
    # correct implementation stays below it.
    assert result["claimed_epsilon"] == pytest.approx(4.0, rel=0.02)
    assert 0 <= result["epsilon_lower_bound"] <= result["claimed_epsilon"]
    assert not result["contradicts_accountant"]
    assert result["probed_sensitivity"] <= 1.0 + 1e-4  # the clip, l2_norm_clip = 1
    assert result["measured_noise_multiplier"] >= result["noise_multiplier"] * 0.9
    with pytest.raises(ValueError, match="compile"):
        privacy.dp_audit(Sequential([layers.Dense(1, input_dim=4, activation="sigmoid")]), x, y)


def test_attribute_inference_finds_a_column_the_model_uses_and_not_one_it_ignores():
    rng = np.random.default_rng(4)
    x = rng.random((400, 3)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.float32).reshape(-1, 1)  # the label is column 0's side of 0.5
    model = Sequential([layers.Dense(16, input_dim=3, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(0.02), loss="binary_crossentropy")
    model.fit(x[:200], y[:200], epochs=60, verbose=0)
    used = privacy.attribute_inference(model, x[:200], y[:200], x[200:], y[200:], 0, grid=4, resamples=300)
    low, high = used["members"]["advantage_interval"]
    assert used["members"]["rows"] == 200 and used["non_members"]["rows"] == 200
    assert low <= used["members"]["advantage"] <= high
    assert low > 0, used  # knowing the label tells which half of column 0 the row lies in
    assert used["members"]["advantage"] == pytest.approx(
        used["members"]["attack_accuracy"] - used["members"]["baseline_accuracy"], abs=1e-9)
    ignored = privacy.attribute_inference(model, x[:200], y[:200], x[200:], y[200:], 2, grid=4, resamples=300)
    assert ignored["members"]["advantage"] < used["members"]["advantage"]
    with pytest.raises(ValueError, match="feature 5"):
        privacy.attribute_inference(model, x, y, x, y, 5)
