"""mixed_bfloat16 from Python: compile(precision=...) and Keras's global policy; the bf16
predictions against a numpy forward pass of bf16-rounded products; the warning and float32
where the processor has no bf16 instructions (shown in a child process with oneDNN held
below them)."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from citadel.keras import layers, mixed_precision
from citadel.keras.models import Sequential

HAS_BF16 = mixed_precision.bf16_instructions() != "none"
needs_bf16 = pytest.mark.skipif(not HAS_BF16, reason="this processor has no bf16 instructions (AVX512-BF16 or AMX)")


def wide_model(**compile_args):
    model = Sequential()
    model.add(layers.Dense(128, input_dim=256, activation="relu"))
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="sgd", **compile_args)
    return model


def bf16(values):
    """Rounds float32 to the nearest bf16 (ties to even) by comparing both neighbours."""
    values = np.asarray(values, np.float32)
    low = (values.view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)
    high = ((values.view(np.uint32) & np.uint32(0xFFFF0000)) + np.uint32(0x10000)).view(np.float32)
    to_low, to_high = np.abs(values.astype(np.float64) - low), np.abs(values.astype(np.float64) - high)
    even = (low.view(np.uint32) & np.uint32(0x10000)) == 0
    return np.where(to_low < to_high, low, np.where(to_high < to_low, high, np.where(even, low, high)))


def forward(weights, x, rounded):
    h = x.astype(np.float32)
    for index in range(0, len(weights), 2):
        kernel, bias = weights[index], weights[index + 1]
        # citadel keeps products under 16K multiply-adds in float32 (bf16 would not pay there)
        large = h.shape[0] * kernel.shape[0] * kernel.shape[1] > 16 * 1024
        a, b = (bf16(h), bf16(kernel)) if rounded and large else (h, kernel)
        z = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32) + bias
        h = np.maximum(z, 0) if index + 2 < len(weights) else 1 / (1 + np.exp(-z.astype(np.float64)))
    return h


def test_policies_by_name():
    assert mixed_precision.Policy("mixed_bfloat16").compute_dtype == "bfloat16"
    assert mixed_precision.Policy("mixed_bfloat16").variable_dtype == "float32"
    with pytest.raises(ValueError, match="mixed_float16"):
        mixed_precision.set_global_policy("mixed_float16")
    with pytest.raises(ValueError, match="bfloat17"):
        wide_model(precision="bfloat17")
    assert mixed_precision.global_policy().name == "float32"


@needs_bf16
def test_bf16_predictions_are_products_of_rounded_inputs():
    model = wide_model(precision="mixed_bfloat16")
    assert model.dtype_policy.name == "mixed_bfloat16"
    x = np.random.default_rng(3).uniform(-1, 1, (40, 256)).astype(np.float32)
    predicted = model.predict(x, batch_size=40, verbose=0)
    weights = model.get_weights()
    np.testing.assert_allclose(predicted, forward(weights, x, True), atol=2e-5)
    assert np.max(np.abs(forward(weights, x, True) - forward(weights, x, False))) > 1e-4


@needs_bf16
def test_the_global_policy_applies_to_compile_and_load(tmp_path):
    mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = wide_model()
        assert model.dtype_policy.name == "mixed_bfloat16"
        path = str(tmp_path / "wide.safetensors")
        model.save(path)
        from citadel.keras.models import load_model
        assert load_model(path).dtype_policy.name == "mixed_bfloat16"
    finally:
        mixed_precision.set_global_policy("float32")
    assert wide_model().dtype_policy.name == "float32"


def test_without_bf16_instructions_compile_warns_and_computes_in_float32():
    child = textwrap.dedent("""
        import warnings
        import numpy as np
        from citadel.keras import layers, mixed_precision
        from citadel.keras.models import Sequential
        assert mixed_precision.bf16_instructions() == "none"
        model = Sequential()
        model.add(layers.Dense(128, input_dim=256, activation="relu"))
        model.add(layers.Dense(1, activation="sigmoid"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.compile(loss="binary_crossentropy", optimizer="sgd", precision="mixed_bfloat16")
        assert any("no bf16 instructions" in str(w.message) for w in caught), [str(w.message) for w in caught]
        assert model.dtype_policy.name == "float32"
        print("fell back")
    """)
    environment = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX512_CORE")
    result = subprocess.run([sys.executable, "-c", child], env=environment, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "fell back" in result.stdout
