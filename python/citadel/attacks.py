"""Adversarial examples against citadel.keras models: FGSM and PGD under the L∞ or L2
norm, untargeted or targeted, each example kept inside its ε-ball and [clip_min, clip_max].
A model of several inputs: x and y as fit takes them (lists or dicts), and input= names the
input to attack (its name or index); the others are held as given, the loss is every
output's, and the adversarial version of that input is returned."""
from citadel import _citadel
from citadel.keras._structures import float32 as _float32


def _options(method, epsilon, norm, steps, step_size, random_start, restarts, clip_min, clip_max, targets,
             batch_size, seed, input_index=0):
    return {"input": int(input_index), "method": method, "norm": norm, "epsilon": float(epsilon), "step_size": float(step_size or 0.0),
            "steps": int(steps), "random_start": bool(random_start), "restarts": int(restarts),
            "clip_min": float(clip_min), "clip_max": float(clip_max), "batch_size": int(batch_size),
            "seed": int(seed), "targets": None if targets is None else _float32(targets, "targets")}


def _native(model, x, y, input):
    """The native model, its input and target arrays, and the index of the input attacked."""
    xs = model._inputs(x)
    native = model._ensure_built(xs)
    return native, xs, model._targets(y), _input_index(model, len(xs), input)


def _input_index(model, count, input):
    names = model._input_keys()
    if input is None:
        if count != 1:
            raise ValueError(f"model '{model.name}' has {count} inputs {names}: name the one to attack with "
                             "input= (its name or index)")
        return 0
    if isinstance(input, str):
        if input not in names:
            raise ValueError(f"input='{input}' is not an input of model '{model.name}'; its inputs are {names}")
        return names.index(input)
    index = int(input)
    if not -count <= index < count:
        raise ValueError(f"input={input} is out of range: model '{model.name}' has {count} inputs {names}")
    return index % count


def fgsm(model, x, y, epsilon, norm="linf", clip_min=0.0, clip_max=1.0, targets=None, batch_size=256, input=None):
    """One signed-gradient step of size epsilon (Goodfellow et al. 2015)."""
    native, xs, ys, index = _native(model, x, y, input)
    return _citadel.adversarial_examples(native, xs, ys, _options("fgsm", epsilon, norm, 1, 0, False, 1, clip_min,
                                                                  clip_max, targets, batch_size, 0, index))


def pgd(model, x, y, epsilon, steps=10, step_size=None, norm="linf", random_start=True, restarts=1, clip_min=0.0,
        clip_max=1.0, targets=None, batch_size=256, seed=0, input=None):
    """Projected gradient descent (Madry et al. 2018); step_size defaults to 2.5·ε/steps."""
    native, xs, ys, index = _native(model, x, y, input)
    return _citadel.adversarial_examples(native, xs, ys, _options("pgd", epsilon, norm, steps, step_size, random_start,
                                                                  restarts, clip_min, clip_max, targets, batch_size,
                                                                  seed, index))


def robustness_curve(model, x, y, epsilons, method="pgd", norm="linf", steps=10, step_size=None, random_start=True,
                     restarts=1, clip_min=0.0, clip_max=1.0, batch_size=256, seed=0, input=None):
    """Accuracy under attack at each ε (ε = 0: clean accuracy), as a list of dicts with
    epsilon, accuracy, attack_success, mean_linf and mean_l2. A model of several outputs: the
    accuracy is the first output's (y may then be that output's targets alone)."""
    xs = model._inputs(x)
    native = model._ensure_built(xs)
    several = len(model._output_keys()) > 1
    first = model._targets(y)[0] if several and isinstance(y, (list, tuple, dict)) else _float32(y, "y")
    index = _input_index(model, len(xs), input)
    options = _options(method, 0.0, norm, steps, step_size, random_start, restarts, clip_min, clip_max, None,
                       batch_size, seed, index)
    return _citadel.robustness_curve(native, xs, first, options, [float(e) for e in epsilons])


def embedding_robustness_curve(model, x, y, epsilons, method="pgd", norm="l2", steps=10, step_size=None,
                               random_start=True, restarts=1, batch_size=256, seed=0, layer="", padding_id=0):
    """A text model attacked in its embeddings (token ids have no gradient): the vectors its
    Embedding gives the ids are moved by FGSM/PGD, each non-padding token's within ε times the
    table's mean row norm (in `norm`) of its own; padding (`padding_id`) never moves. x: the
    token ids (int arrays). Per ε a dict: epsilon, radius (ε·scale), scale, accuracy and
    attack_success on the moved vectors, mean_token_l2/linf, and the nearest-token projection
    (each vector mapped to the table's nearest row, real ids): tokens, tokens_changed,
    rows_with_changed_tokens, projected_accuracy, projected_attack_success. docs/SECURITY.md
    says what this measures and what it does not claim."""
    xs = model._inputs(x)
    native = model._ensure_built(xs)
    several = len(model._output_keys()) > 1
    first = model._targets(y)[0] if several and isinstance(y, (list, tuple, dict)) else _float32(y, "y")
    options = _options(method, 0.0, norm, steps, step_size, random_start, restarts, 0.0, 1.0, None, batch_size, seed)
    return _citadel.embedding_robustness_curve(native, xs, first, options, [float(e) for e in epsilons], str(layer),
                                               int(padding_id))
