"""Differential privacy from Python: DP-SGD for fit(dp=...), its accountant, and
membership-inference audits (docs/PRIVACY.md holds what the guarantee covers)."""
from citadel import _citadel


class DPSGD:
    """fit(..., dp=DPSGD(l2_norm_clip=1.0, noise_multiplier=1.1)): each example's gradient
    clipped to l2_norm_clip, Gaussian noise of noise_multiplier·l2_norm_clip added to the sum,
    Poisson-sampled batches, ε at delta reported after every epoch ('epsilon' in the History).
    With target_epsilon the noise is found for that budget over the epochs."""

    def __init__(self, l2_norm_clip=1.0, noise_multiplier=1.1, target_epsilon=None, delta=1e-5,
                 poisson_sampling=True, reproducible=False, record_training_metrics=True):
        if l2_norm_clip <= 0:
            raise ValueError(f"DPSGD: l2_norm_clip must be > 0, got {l2_norm_clip}")
        if target_epsilon is None and noise_multiplier <= 0:
            raise ValueError(f"DPSGD: noise_multiplier must be > 0, got {noise_multiplier}")
        if not 0 < delta < 1:
            raise ValueError(f"DPSGD: delta must be in (0, 1), got {delta}")
        self._config = {"l2_norm_clip": float(l2_norm_clip), "noise_multiplier": float(noise_multiplier),
                        "target_epsilon": None if target_epsilon is None else float(target_epsilon),
                        "delta": float(delta), "poisson_sampling": bool(poisson_sampling),
                        "reproducible": bool(reproducible), "record_training_metrics": bool(record_training_metrics)}

    def get_config(self):
        return dict(self._config)


def compute_epsilon(n, batch_size, epochs, noise_multiplier, delta=1e-5, poisson_sampling=True):
    """ε (at delta) spent by DP-SGD over `epochs` epochs of n rows, as fit(dp=...) reports it
    (the tighter of the RDP and privacy-loss-distribution accountants, composed epoch by epoch)."""
    per_epoch = _citadel.steps_per_epoch(int(n), int(batch_size), bool(poisson_sampling))
    epsilon, _accountant = _citadel.dp_sgd_epsilon_after_epochs(float(batch_size) / float(n), float(noise_multiplier),
                                                                per_epoch, int(epochs), float(delta))
    return epsilon


def noise_multiplier_for(n, batch_size, epochs, target_epsilon, delta=1e-5, poisson_sampling=True):
    """The smallest noise multiplier whose ε after the epochs is at most target_epsilon."""
    per_epoch = _citadel.steps_per_epoch(int(n), int(batch_size), bool(poisson_sampling))
    return _citadel.dp_sgd_noise_multiplier_for_epochs(float(batch_size) / float(n), per_epoch, int(epochs), float(delta),
                                                       float(target_epsilon))


def membership_audit(model, x_train, y_train, x_holdout, y_holdout, reference_epochs=20, batch_size=32, seed=1,
                     calibrated=True):
    """How well an attacker tells training rows from held-out ones by the model's losses:
    one dict per attack (auc, balanced_accuracy, tpr_at_1_percent_fpr, ...); an AUC near
    0.5 means little leaks. calibrated=True also trains a reference model of the same
    architecture for reference_epochs epochs. A model of several inputs or outputs takes x
    and y as fit does (lists or dicts); a row's loss is the weighted sum over the outputs."""
    train_x, holdout_x = model._inputs(x_train, "x_train"), model._inputs(x_holdout, "x_holdout")
    train_y, holdout_y = model._targets(y_train, "y_train"), model._targets(y_holdout, "y_holdout")
    native = model._ensure_built(train_x)
    if len(train_x) == 1 and len(train_y) == 1:
        return _citadel.membership_audit(native, train_x[0], train_y[0], holdout_x[0], holdout_y[0],
                                         int(reference_epochs), int(batch_size), int(seed), bool(calibrated))
    if calibrated and model._compile_args is None:
        raise ValueError(f"membership_audit: model '{model.name}' was not compiled here, so its per-output losses "
                         "are unknown for the reference model; compile it, or pass calibrated=False")

    def make_reference():
        # A fresh model of the same architecture, compiled as the audited one (seeded as
        # the one-input audit seeds it).
        _citadel.set_seed(int(seed))
        reference = _citadel.Model.from_config(native.to_config(), "reference model")
        reference.build([])
        loss, per_loss, weights, _metrics, _per_metrics, precision = model._compile_args
        reference.compile(loss, model.optimizer._serialize(), [], precision, per_loss, weights, {})
        return reference
    return _citadel.membership_audit_graph(native, train_x, train_y, holdout_x, holdout_y, int(reference_epochs),
                                           int(batch_size), int(seed), make_reference if calibrated else None)


def _fresh_models(model, native, name):
    """A function that makes a fresh native model of this one's architecture, compiled as it was
    here (LiRA's shadows, the DP audit's runs)."""
    def make():
        fresh = _citadel.Model.from_config(native.to_config(), name)
        fresh.build(list(native.input_shape) if native.is_sequential else [])
        loss, per_loss, weights, _metrics, _per_metrics, precision = model._compile_args
        fresh.compile(loss, model.optimizer._serialize(), [], precision, per_loss, weights, {})
        return fresh
    return make


def lira(model, x_train, y_train, x_holdout, y_holdout, shadows=16, epochs=20, batch_size=32, seed=1):
    """LiRA (Carlini et al. 2022): `shadows` models of the same architecture, compiled as this
    one, each trained for `epochs` on a random half of all the rows given; a Gaussian fit of
    each row's logit-scaled confidence in and out of them. Two dicts, lira_online and
    lira_offline, with the figures membership_audit gives (tpr_at_0_1_percent_fpr and
    epsilon_lower_bound included). The model must be compiled here with a cross-entropy loss."""
    train_x, holdout_x = model._inputs(x_train, "x_train"), model._inputs(x_holdout, "x_holdout")
    train_y, holdout_y = model._targets(y_train, "y_train"), model._targets(y_holdout, "y_holdout")
    native = model._ensure_built(train_x)
    if model._compile_args is None:
        raise ValueError(f"lira: model '{model.name}' was not compiled here, so the shadows' loss is unknown; "
                         "compile it first")

    return _citadel.lira_audit(native, train_x, train_y, holdout_x, holdout_y, int(shadows), int(epochs),
                               int(batch_size), int(seed), _fresh_models(model, native, "shadow model"))


def dp_audit(model, x, y, epochs=10, batch_size=32, l2_norm_clip=1.0, noise_multiplier=1.1, target_epsilon=None,
             delta=1e-5, gradient_canaries=1000, input_canaries=64, runs=1, confidence=0.95, seed=None):
    """The DP self-audit (docs/SECURITY.md, "Auditing the guarantee"): trains fresh models of this
    one's architecture, compiled as it is, with DP-SGD and canaries (each in with probability
    one half), and turns how well the canaries are told apart into an empirical lower bound on
    epsilon at `confidence`. A dict with claimed_epsilon (the accountant's), epsilon_lower_bound,
    contradicts_accountant (the bound above the claim: the implementation is broken), strongest
    (which evidence gave it), the evidence's own bounds, and the measured noise multiplier and
    probed sensitivity of the real step. `seed` fixes the canaries (default: drawn from the OS)."""
    xs, ys = model._inputs(x, "x"), model._targets(y, "y")
    if len(xs) != 1 or len(ys) != 1:
        raise ValueError(f"dp_audit: model '{model.name}' has {len(xs)} inputs and {len(ys)} outputs; the audit "
                         "here takes a model of one input and one output")
    native = model._ensure_built(xs)
    if model._compile_args is None:
        raise ValueError(f"dp_audit: model '{model.name}' was not compiled here, so the audited runs' loss is "
                         "unknown; compile it first")
    dp = {"l2_norm_clip": float(l2_norm_clip), "noise_multiplier": float(noise_multiplier),
          "target_epsilon": None if target_epsilon is None else float(target_epsilon), "delta": float(delta)}
    audit = {"gradient_canaries": int(gradient_canaries), "input_canaries": int(input_canaries), "runs": int(runs),
             "confidence": float(confidence), "seed": None if seed is None else int(seed)}
    return _citadel.dp_audit(xs[0], ys[0], int(epochs), int(batch_size), dp, audit,
                             _fresh_models(model, native, "audited model"))


def attribute_inference(model, x_train, y_train, x_holdout, y_holdout, feature, categorical=False, grid=10,
                        resamples=1000, confidence=0.95, seed=1):
    """Attribute inference (docs/SECURITY.md, `citadel audit --attribute`): an attacker who knows
    a row's label and every input but `feature` (a column index of x, or for a category the list
    of its one-hot columns) queries the model with each candidate value and guesses the one of
    lowest loss; against a baseline that never queries it (the most common value). A dict with
    members and non_members (each: rows, attack_accuracy, baseline_accuracy, advantage and its
    bootstrap advantage_interval), gap (members' advantage minus non-members') with gap_interval,
    candidates and baseline_guess. A number's guesses are right within its bin of `grid` quantiles."""
    train_x, holdout_x = model._inputs(x_train, "x_train"), model._inputs(x_holdout, "x_holdout")
    train_y, holdout_y = model._targets(y_train, "y_train"), model._targets(y_holdout, "y_holdout")
    if len(train_x) != 1 or len(train_y) != 1:
        raise ValueError(f"attribute_inference: model '{model.name}' has {len(train_x)} inputs and {len(train_y)} "
                         "outputs; the audit here takes a model of one input and one output")
    columns = [int(feature)] if isinstance(feature, (int,)) or hasattr(feature, "__index__") else [int(f) for f in feature]
    width = train_x[0].shape[-1]
    for column in columns:
        if not 0 <= column < width:
            raise ValueError(f"attribute_inference: feature {column} is not a column of x, which has {width}")
    if categorical and len(columns) < 2:
        raise ValueError("attribute_inference: a categorical feature is its one-hot columns; give at least two")
    native = model._ensure_built(train_x)
    return _citadel.attribute_inference(native, train_x[0], train_y[0], holdout_x[0], holdout_y[0], columns,
                                        bool(categorical), int(grid), int(resamples), float(confidence), int(seed))
