"""Adversarial examples against citadel.keras models: FGSM and PGD under the L∞ or L2
norm, untargeted or targeted, each example kept inside its ε-ball and [clip_min, clip_max]."""
from citadel import _citadel
from citadel.keras._structures import float32 as _float32


def _options(method, epsilon, norm, steps, step_size, random_start, restarts, clip_min, clip_max, targets,
             batch_size, seed):
    return {"method": method, "norm": norm, "epsilon": float(epsilon), "step_size": float(step_size or 0.0),
            "steps": int(steps), "random_start": bool(random_start), "restarts": int(restarts),
            "clip_min": float(clip_min), "clip_max": float(clip_max), "batch_size": int(batch_size),
            "seed": int(seed), "targets": None if targets is None else _float32(targets, "targets")}


def _native(model, x, y):
    """The native model and the one input and one target array an attack reads."""
    xs = model._inputs(x)
    native = model._ensure_built(xs)
    ys = model._targets(y)
    if len(xs) != 1 or len(ys) != 1:
        raise ValueError(f"the attacks in Python take a model of one input and one output; model '{model.name}' has "
                         f"{len(xs)} inputs and {len(ys)} outputs (the C++ API attacks a chosen input)")
    return native, xs[0], ys[0]


def fgsm(model, x, y, epsilon, norm="linf", clip_min=0.0, clip_max=1.0, targets=None, batch_size=256):
    """One signed-gradient step of size epsilon (Goodfellow et al. 2015)."""
    native, x, y = _native(model, x, y)
    return _citadel.adversarial_examples(native, x, y, _options("fgsm", epsilon, norm, 1, 0, False, 1, clip_min,
                                                                clip_max, targets, batch_size, 0))


def pgd(model, x, y, epsilon, steps=10, step_size=None, norm="linf", random_start=True, restarts=1, clip_min=0.0,
        clip_max=1.0, targets=None, batch_size=256, seed=0):
    """Projected gradient descent (Madry et al. 2018); step_size defaults to 2.5·ε/steps."""
    native, x, y = _native(model, x, y)
    return _citadel.adversarial_examples(native, x, y, _options("pgd", epsilon, norm, steps, step_size, random_start,
                                                                restarts, clip_min, clip_max, targets, batch_size,
                                                                seed))


def robustness_curve(model, x, y, epsilons, method="pgd", norm="linf", steps=10, step_size=None, random_start=True,
                     restarts=1, clip_min=0.0, clip_max=1.0, batch_size=256, seed=0):
    """Accuracy under attack at each ε (ε = 0: clean accuracy), as a list of dicts with
    epsilon, accuracy, attack_success, mean_linf and mean_l2."""
    native, x, y = _native(model, x, y)
    options = _options(method, 0.0, norm, steps, step_size, random_start, restarts, clip_min, clip_max, None,
                       batch_size, seed)
    return _citadel.robustness_curve(native, x, y, options, [float(e) for e in epsilons])
