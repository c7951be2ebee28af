"""Keras's ways of giving a model's inputs, targets and per-output settings — one array, a
list in the model's order, or a dict keyed by name — turned into what the library takes:
one array per input and per output in order, and settings keyed by output layer name."""
import numpy as np

from citadel.keras import losses, metrics as metrics_module


def float32(value, argument):
    """An array citadel reads without copying: float32, C-contiguous (converted once)."""
    try:
        return np.ascontiguousarray(value, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{argument}: expected numbers convertible to float32, got {type(value).__name__}: "
                        f"{error}") from None


# float32 holds every integer up to 2^24 exactly; token ids travel in float32 tensors.
_EXACT_IDS = 1 << 24


def token_ids(value, argument, dtype):
    """Token ids for an int32/int64 input, as the float32 array citadel computes with: int
    arrays (any integer dtype) up to 2^24 in magnitude, or float arrays holding only such
    integers. Anything else is refused, naming the argument and the first bad element."""
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
                                     or array.dtype == np.bool_):
        raise TypeError(f"{argument}: the input is {dtype} (token ids); expected an integer array, got "
                        f"{array.dtype}")
    if np.issubdtype(array.dtype, np.floating):
        bad = ~np.isfinite(array) | (array != np.floor(np.nan_to_num(array)))
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{argument}: the input is {dtype} (token ids), but element {where} is "
                             f"{array[where].item()!r}, not an integer")
    if array.size and np.abs(array.astype(np.float64)).max() > _EXACT_IDS:
        where = tuple(int(i) for i in np.argwhere(np.abs(array.astype(np.float64)) > _EXACT_IDS)[0])
        raise ValueError(f"{argument}: the input is {dtype} (token ids), but element {where} is {array[where].item()!r}; "
                         f"ids must be at most 2^24 = {_EXACT_IDS} in magnitude (citadel carries them in float32)")
    return np.ascontiguousarray(array, dtype=np.float32)


def arrays(value, names, argument, kind, dtypes=None):
    """One float32 array per name (kind: 'input' or 'output'), in order, from one array (a
    single name), a list or tuple in order, or a dict keyed by the names. With dtypes (the
    inputs'), an int32/int64 input takes token ids (token_ids)."""
    dtype_of = dict(zip(names, dtypes or []))

    def convert(name, v, where):
        dtype = dtype_of.get(name, "float32")
        return float32(v, where) if dtype == "float32" else token_ids(v, where, dtype)

    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{argument}: keys {unknown} name no {kind} of the model; its "
                             f"names are {list(names)}")
        missing = [name for name in names if name not in value]
        if missing:
            raise ValueError(f"{argument}: no data for {missing} (the model's {kind}s are "
                             f"{list(names)})")
        return [convert(name, value[name], f"{argument}['{name}']") for name in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(f"{argument}: the model has {len(names)} {kind}s {list(names)}, "
                             f"got a list of {len(value)} arrays")
        return [convert(name, v, f"{argument}[{i}]") for i, (name, v) in enumerate(zip(names, value))]
    if isinstance(value, (list, tuple)) and len(value) == 1 and np.ndim(value[0]) >= 1 and names:
        return [convert(names[0], value[0], f"{argument}[0]")]
    if len(names) > 1:
        raise ValueError(f"{argument}: the model has {len(names)} {kind}s {list(names)}; give a "
                         f"list of {len(names)} arrays or a dict keyed by those names")
    return [convert(names[0] if names else None, value, argument)]


def per_output(value, keys, argument, is_entry):
    """A compile setting given once, as a list in output order, or as a dict keyed by the
    outputs' keys: {key: entry} for the outputs it sets (None when given once for all)."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(keys))
        if unknown:
            raise ValueError(f"compile: {argument} names {unknown}, which are not outputs of the model; its outputs "
                             f"are {list(keys)}")
        return {key: value[key] for key in keys if key in value and value[key] is not None}
    if isinstance(value, (list, tuple)) and not is_entry(value):
        if len(value) != len(keys):
            raise ValueError(f"compile: {argument} is a list of {len(value)} entries, but the model has "
                             f"{len(keys)} outputs {list(keys)}; give one per output or a dict keyed by them")
        return {key: entry for key, entry in zip(keys, value) if entry is not None}
    return None


def compile_settings(loss, loss_weights, metrics, output_keys, output_layers):
    """compile()'s Keras forms as the library's: (loss, losses, loss_weights, metrics,
    output_metrics), per-output entries keyed by the output layers' names."""
    by_layer = dict(zip(output_keys, output_layers))
    several = len(output_keys) > 1
    one_loss = lambda v: isinstance(v, str) or hasattr(v, "get_config") or callable(v)  # noqa: E731
    given = per_output(loss, output_keys, "loss", one_loss) if several or isinstance(loss, dict) else None
    if given is None:
        if isinstance(loss, (list, tuple)):
            loss = loss[0] if len(loss) == 1 else loss
        if isinstance(loss, dict):
            loss = next(iter(loss.values()))
        loss_spec, losses_by_layer = losses.serialize(loss), {}
    else:
        missing = [key for key in output_keys if key not in given]
        if missing:
            raise ValueError(f"compile: no loss for the outputs {missing}; give one loss for every output or one "
                             f"per output (loss={{{', '.join(repr(k) + ': ...' for k in output_keys)}}})")
        loss_spec, losses_by_layer = None, {by_layer[k]: losses.serialize(v) for k, v in given.items()}
    weights = {}
    if loss_weights is not None:
        chosen = per_output(loss_weights, output_keys, "loss_weights", lambda v: not isinstance(v, (list, tuple)))
        if chosen is None:
            if not several:
                chosen = {output_keys[0]: loss_weights}
            else:
                raise ValueError("compile: loss_weights for a model of several outputs is a list (one per output) "
                                 "or a dict keyed by the outputs")
        weights = {by_layer[k]: float(v) for k, v in chosen.items()}
    metric_list, metrics_by_layer = [], {}
    if isinstance(metrics, (str, metrics_module.Metric)):
        raise TypeError("compile: metrics must be a list, e.g. metrics=['accuracy']")
    if metrics is not None:
        entry = lambda v: isinstance(v, (str, metrics_module.Metric))  # noqa: E731
        nested = isinstance(metrics, (list, tuple)) and any(isinstance(m, (list, tuple)) or m is None for m in metrics)
        chosen = per_output(metrics, output_keys, "metrics", lambda v: not nested) if (
            isinstance(metrics, dict) or nested) else None
        if chosen is None:
            metric_list = [metrics_module.serialize(m) for m in metrics]
        else:
            for key, value in chosen.items():
                names = [value] if entry(value) else list(value)
                metrics_by_layer[by_layer[key]] = [metrics_module.serialize(m) for m in names]
            if not several:  # one output: its metrics are the model's
                metric_list, metrics_by_layer = metrics_by_layer.get(output_layers[0], []), {}
    return loss_spec, losses_by_layer, weights, metric_list, metrics_by_layer
