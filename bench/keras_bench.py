"""Keras 3 (JAX backend, CPU) twins of citadel_bench's W8 and W9, timed as citadel_bench and
bench/torch_bench.py time them: an epoch over 640 rows (samples/s, the median of reps / 2
epochs after a warm-up epoch that compiles) and the one-sequence latency (ms, the median of
200 calls after 20). Keras's fastest plain use: fit() and predict_on_batch(), both compiled
by XLA once; the padding is masked (Embedding mask_zero=True), as citadel's models mask it.

    KERAS_BACKEND=jax build/venv-interop/bin/python bench/keras_bench.py w8|w9 [--threads N] [--reps R]

--threads N pins the process to the first N CPUs before JAX starts (XLA sizes its thread
pool from them) and, for N = 1, turns off XLA's multi-threaded Eigen. Prints the same JSON
lines as citadel_bench."""
import argparse
import json
import os
import statistics
import sys
import time


def configure_threads(threads):
    os.sched_setaffinity(0, set(range(threads)))
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


W8_VOCABULARY, W8_LENGTH, W8_BATCH = 20000, 200, 64


def report(workload, metric, value, unit, better):
    print(json.dumps({"workload": workload, "metric": metric, "value": value, "unit": unit, "better": better}))
    sys.stdout.flush()


def w8_data(np, rows):
    """Random ids over 1..19999, each row padded at its end from a length of 100 to 200 (the
    same rule as citadel_bench's and torch_bench.py's, not the same draws)."""
    rng = np.random.default_rng(8)
    x = np.zeros((rows, W8_LENGTH), dtype=np.int32)
    for r in range(rows):
        length = rng.integers(100, W8_LENGTH + 1)
        x[r, :length] = rng.integers(1, W8_VOCABULARY, length)
    return x, rng.integers(0, 2, (rows, 1)).astype(np.float32)


def w8_model(keras, cell):
    """Embedding(20000, 128, mask_zero) -> LSTM(128) | GRU(128) | Bidirectional(LSTM(64)) -> Dense(1, sigmoid)."""
    layers = keras.layers
    recurrent = {"lstm": lambda: layers.LSTM(128), "gru": lambda: layers.GRU(128),
                 "bilstm": lambda: layers.Bidirectional(layers.LSTM(64))}[cell]()
    return keras.Sequential([keras.Input((W8_LENGTH,), dtype="int32"),
                             layers.Embedding(W8_VOCABULARY, 128, mask_zero=True), recurrent,
                             layers.Dense(1, activation="sigmoid")])


def w9_model(keras):
    """citadel_bench's W9: Embedding(20000, 128, mask_zero) -> 2 post-norm encoder blocks
    (MultiHeadAttention(4 heads of 32) + residual -> LayerNormalization -> Dense(256, relu) ->
    Dense(128) + residual -> LayerNormalization) -> masked mean -> Dense(1, sigmoid)."""
    layers = keras.layers
    ids = keras.Input((W8_LENGTH,), dtype="int32")
    x = layers.Embedding(W8_VOCABULARY, 128, mask_zero=True)(ids)
    for _ in range(2):
        x = layers.LayerNormalization()(layers.Add()([x, layers.MultiHeadAttention(4, 32)(x, x)]))
        fed = layers.Dense(128)(layers.Dense(256, activation="relu")(x))
        x = layers.LayerNormalization()(layers.Add()([x, fed]))
    return keras.Model(ids, layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(x)))


def time_sequence_model(keras, np, model, workload, prefix, reps):
    rows = 10 * W8_BATCH
    x, y = w8_data(np, rows)
    model.compile(loss="binary_crossentropy", optimizer="adam")
    model.fit(x, y, epochs=1, batch_size=W8_BATCH, verbose=0, shuffle=False)  # compiles the step
    times = []
    for _ in range(max(1, reps // 2)):
        start = time.perf_counter()
        model.fit(x, y, epochs=1, batch_size=W8_BATCH, verbose=0, shuffle=False)
        times.append(time.perf_counter() - start)
    report(workload, f"{prefix}train samples/s", rows / statistics.median(times), "samples/s", "higher")
    one = x[:1]
    for _ in range(20):
        model.predict_on_batch(one)
    latencies = []
    for _ in range(200):
        start = time.perf_counter()
        model.predict_on_batch(one)
        latencies.append(time.perf_counter() - start)
    report(workload, f"{prefix}1-sequence predict", statistics.median(latencies) * 1e3, "ms", "lower")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=["w8", "w9"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    configure_threads(args.threads)
    import keras
    import numpy as np
    keras.utils.set_random_seed(42)
    if args.workload == "w8":
        for cell in ("lstm", "gru", "bilstm"):
            time_sequence_model(keras, np, w8_model(keras, cell), "W8", f"{cell} ", args.reps)
    else:
        time_sequence_model(keras, np, w9_model(keras), "W9", "", args.reps)


if __name__ == "__main__":
    main()
