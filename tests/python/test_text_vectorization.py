"""citadel.keras.layers.TextVectorization: its vocabulary and ids against a plain-Python
reimplementation of Keras 3's rules (lowercase, strip string.punctuation, split on whitespace,
vocabulary by count with ties in descending byte order, "" = 0, "[UNK]" = 1), padding and
truncation, vocabularies given as lists and files, what it refuses, and its ids training a
citadel.keras model."""
import string
from collections import Counter

import numpy as np
import pytest

from citadel import keras
from citadel.keras import layers

CORPUS = ["The cat sat on the mat.", "The dog sat!", "A cat, a dog; a bird?", "birds SING", "the end"]


def reference_tokens(text):
    return text.lower().translate(str.maketrans("", "", string.punctuation)).split()


def reference_vocabulary(rows, max_tokens=None):
    counts = Counter(token for row in rows for token in reference_tokens(row))
    # By count, then by the token's bytes, both descending ("birds" before "bird").
    ordered = sorted(counts, key=lambda token: (counts[token], token.encode()), reverse=True)
    if max_tokens is not None:
        ordered = ordered[:max_tokens - 2]
    return ["", "[UNK]"] + ordered


def reference_ids(rows, vocabulary, length):
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = [[index.get(token, 1) for token in reference_tokens(row)] for row in rows]
    length = length or max(len(row) for row in ids)
    return np.array([(row + [0] * length)[:length] for row in ids], np.int64)


@pytest.mark.parametrize("max_tokens,length", [(None, None), (6, 4), (None, 9)])
def test_vocabulary_and_ids_follow_keras_rules(max_tokens, length):
    vectorizer = layers.TextVectorization(max_tokens=max_tokens, output_sequence_length=length)
    vectorizer.adapt(CORPUS)
    expected_vocabulary = reference_vocabulary(CORPUS, max_tokens)
    assert vectorizer.get_vocabulary() == expected_vocabulary
    assert vectorizer.get_vocabulary(include_special_tokens=False) == expected_vocabulary[2:]
    assert vectorizer.vocabulary_size() == len(expected_vocabulary)
    fresh = ["The unknown cat.", "", "a a a a a a a a a a a"]
    ids = vectorizer(fresh)
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, reference_ids(fresh, expected_vocabulary, length))
    np.testing.assert_array_equal(vectorizer(np.array(fresh, dtype=object).reshape(-1, 1)), ids)
    np.testing.assert_array_equal(vectorizer([s.encode() for s in fresh]), ids)
    np.testing.assert_array_equal(vectorizer("The unknown cat."),
                                  reference_ids(["The unknown cat."], expected_vocabulary, length)[0])


def test_given_vocabularies_as_lists_and_files(tmp_path):
    tokens = ["cat", "dog", "sat"]
    plain = layers.TextVectorization(vocabulary=tokens, output_sequence_length=3)
    keras_form = layers.TextVectorization(vocabulary=["", "[UNK]"] + tokens, output_sequence_length=3)
    path = tmp_path / "vocabulary.txt"
    path.write_text("\n".join(tokens) + "\n")
    from_file = layers.TextVectorization(vocabulary=str(path), output_sequence_length=3)
    for vectorizer in (plain, keras_form, from_file):
        assert vectorizer.get_vocabulary() == ["", "[UNK]"] + tokens
        np.testing.assert_array_equal(vectorizer(["Dog sat, cat!", "bird"]), [[3, 4, 2], [1, 0, 0]])
    bad = tmp_path / "bad.txt"
    bad.write_text("cat\ndog\ncat\n")
    with pytest.raises(ValueError, match="line 3 repeats the token 'cat'"):
        layers.TextVectorization(vocabulary=str(bad))


def test_what_it_refuses():
    with pytest.raises(NotImplementedError, match="output_mode='tf_idf'"):
        layers.TextVectorization(output_mode="tf_idf")
    with pytest.raises(NotImplementedError, match="ngrams"):
        layers.TextVectorization(ngrams=2)
    vectorizer = layers.TextVectorization()
    with pytest.raises(ValueError):
        vectorizer(["no vocabulary yet"])
    vectorizer.adapt(CORPUS)
    with pytest.raises(ValueError, match="row 1 is not valid UTF-8"):
        vectorizer([b"fine", b"bad \xff"])
    with pytest.raises(TypeError, match="row 0 is a int"):
        vectorizer([7])
    with pytest.raises(TypeError, match="runs on strings before the model"):
        keras.Sequential().add(vectorizer)
    with pytest.raises(NotImplementedError, match="runs on strings before the model"):
        vectorizer(keras.Input((1,)))


def test_its_ids_train_a_model():
    rows = [f"free {w} offer" if i % 2 else f"team {w} notes" for i, w in enumerate(["lunch", "call", "plan"] * 20)]
    labels = np.array([i % 2 for i in range(len(rows))], np.int64)
    vectorizer = layers.TextVectorization(output_sequence_length=4)
    vectorizer.adapt(rows)
    ids = vectorizer(rows)
    model = keras.Sequential([keras.Input((4,), dtype="int32"),
                              layers.Embedding(vectorizer.vocabulary_size(), 4, mask_zero=True),
                              layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.05), metrics=["accuracy"])
    model.fit(ids, labels, epochs=30, verbose=0)
    assert model.evaluate(vectorizer(["free plan offer", "team call notes"]), np.array([1, 0]), verbose=0)[1] == 1.0
