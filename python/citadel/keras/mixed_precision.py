"""citadel.keras.mixed_precision: Keras's dtype policies, as far as citadel computes them.

``set_global_policy("mixed_bfloat16")`` makes models compiled (or loaded) afterwards run
their matrix products and convolutions with bf16 inputs on AMX or AVX512-BF16, keeping
float32 weights, optimizer state, loss and element-wise work. Where the processor has no
bf16 instructions the model computes in float32 and compile() warns. ``mixed_float16`` is
refused: citadel has no float16 kernels."""
from citadel import _citadel

_NAMES = ("float32", "mixed_bfloat16")


class Policy:
    """A dtype policy by name: 'float32' or 'mixed_bfloat16'."""

    def __init__(self, name):
        if isinstance(name, Policy):
            name = name.name
        if name not in _NAMES:
            raise ValueError(f"Policy: unsupported dtype policy {name!r}; citadel computes in "
                             f"{' or '.join(map(repr, _NAMES))}")
        self.name = name

    @property
    def compute_dtype(self):
        return "bfloat16" if self.name == "mixed_bfloat16" else "float32"

    @property
    def variable_dtype(self):
        return "float32"

    def __eq__(self, other):
        return isinstance(other, Policy) and other.name == self.name

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


_global = Policy("float32")


def set_global_policy(policy):
    """Sets the policy that compile() and load_model() use when not told otherwise."""
    global _global
    _global = Policy("float32" if policy is None else policy)


def global_policy():
    return _global


def bf16_instructions():
    """'AMX-BF16', 'AVX512-BF16' or 'none': what mixed_bfloat16 runs on here."""
    return _citadel.bf16_instructions()
