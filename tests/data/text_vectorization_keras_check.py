"""citadel's TextVectorization against real Keras 3's (TensorFlow backend: Keras's
TextVectorization needs TensorFlow whatever the backend): the vocabulary learned by adapt
(ties included) and the ids of new rows must be the same, case by case.

Usage: text_vectorization_keras_check.py TOOL. Exits 77 (skipped) where Keras 3 and
TensorFlow cannot be imported (tests/CMakeLists.txt runs it with build/venv-keras-text,
which scripts/setup_keras_text makes)."""
import json
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    import keras
    import tensorflow as tf
except ImportError as e:
    print(f"skipped: Keras 3 with TensorFlow is absent ({e}); scripts/setup_keras_text makes build/venv-keras-text")
    sys.exit(77)

# Ties at every count, punctuation of every kind, case, non-ASCII letters (É, Ü, ß, Greek),
# ASCII and Unicode spaces, repeated words within a row, digits, "[UNK]" itself.
CORPUS = [
    "The quick brown fox -- jumps over the lazy dog!",
    "the DOG barks; the fox runs. Dog's day?",
    "\u00c9COLE \u00e9cole \u00dcber stra\u00dfe \u0391\u0392\u0393 caf\u00e9",
    "a\tb\nc\rd\x0be\x0cf  g a b",
    "no\u00a0break\u3000wide e-mail x.y [UNK] [UNK] [UNK] 42 4.2",
    "zeta alpha mu zeta alpha mu",
    "",
    "!!! ... ???",
]
INPUTS = [
    "the fox and the unseen WORD",
    "\u00c9COLE Dog's e-mail [UNK]",
    "",
    "zeta zeta alpha mu quick brown fox jumps over lazy dog again and again",
    "no\u00a0break a\u00a0b",
]
CASES = [
    {"standardize": "lower_and_strip_punctuation", "max_tokens": None, "output_sequence_length": None},
    {"standardize": "lower_and_strip_punctuation", "max_tokens": 9, "output_sequence_length": 6},
    {"standardize": "lower", "max_tokens": None, "output_sequence_length": 20},
    {"standardize": "strip_punctuation", "max_tokens": 12, "output_sequence_length": None},
    {"standardize": "none", "max_tokens": None, "output_sequence_length": 4},
    {"standardize": "none", "max_tokens": 8, "output_sequence_length": None},  # "[UNK]" is the top count
]


def keras_answer(options):
    layer = keras.layers.TextVectorization(
        max_tokens=options["max_tokens"],
        standardize=None if options["standardize"] == "none" else options["standardize"],
        output_mode="int",
        output_sequence_length=options["output_sequence_length"],
    )
    layer.adapt(tf.constant(CORPUS))
    outputs = layer(tf.constant(INPUTS))
    decode = lambda t: t.decode("utf-8") if isinstance(t, bytes) else t  # noqa: E731
    return {"vocabulary": [decode(t) for t in layer.get_vocabulary()],
            "outputs": [[int(v) for v in row] for row in keras.ops.convert_to_numpy(outputs)]}


def main():
    tool = sys.argv[1]
    failures = 0
    for options in CASES:
        theirs = keras_answer(options)
        task = json.dumps({"options": options, "adapt": CORPUS, "inputs": INPUTS})
        ours = json.loads(subprocess.run([tool], input=task, capture_output=True, text=True, check=True).stdout)
        for key in ("vocabulary", "outputs"):
            same = ours[key] == theirs[key]
            failures += not same
            print(f"{'same' if same else 'DIFFERS'} {key} {json.dumps(options)}")
            if not same:
                print(f"  keras:   {json.dumps(theirs[key], ensure_ascii=False)}")
                print(f"  citadel: {json.dumps(ours[key], ensure_ascii=False)}")
    print(f"{len(CASES) * 2 - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
