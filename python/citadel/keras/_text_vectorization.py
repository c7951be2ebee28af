"""keras.layers.TextVectorization for citadel.keras: raw strings to token ids by Keras 3's rules
(output_mode "int": lowercase and strip ASCII punctuation, split on whitespace, "" = 0 and
"[UNK]" = 1, the vocabulary by count with ties in descending byte order), computed by the C++
library's TextVectorization (citadel/data/text_vectorization.hpp) that `citadel train --text`
saves in model files. It runs on strings before a model, as Keras users run it in a tf.data
pipeline: call it on the data, then feed the ids to a model that starts with an int Input and
an Embedding. citadel models do not take string tensors, so it is not a layer of a model."""
import numpy as np

from citadel import _citadel

_NOT_IN_MODELS = ("TextVectorization runs on strings before the model in citadel (models take no string tensors): "
                  "ids = vectorizer(texts), then a model starting with Input(shape=(length,), dtype='int32') and "
                  "Embedding(vectorizer.vocabulary_size(), ...)")


def _strings(data, who):
    """A batch of Python strings from a str, bytes, list/tuple or numpy array of them ((N,) or (N, 1))."""
    if isinstance(data, (str, bytes)):
        data = [data]
    if isinstance(data, np.ndarray):
        if data.ndim == 2 and data.shape[1] == 1:
            data = data[:, 0]
        if data.ndim != 1:
            raise ValueError(f"{who}: expected strings shaped (N,) or (N, 1), got an array of shape {data.shape}")
        data = data.tolist()
    rows = []
    for i, value in enumerate(data):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(f"{who}: row {i} is not valid UTF-8 ({error})") from None
        if not isinstance(value, str):
            raise TypeError(f"{who}: row {i} is a {type(value).__name__}, not a string")
        rows.append(value)
    return rows


class TextVectorization:
    """Keras 3's TextVectorization with output_mode="int" and split="whitespace" (the others raise).

    max_tokens counts "" and "[UNK]"; output_sequence_length pads with 0 or truncates (None:
    pad each batch to its longest row, as Keras does); vocabulary (a list, or a file of one
    token a line) sets it instead of adapt()."""

    _preprocessing_only = _NOT_IN_MODELS

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs):
        for key, value, default in (("split", split, "whitespace"), ("ngrams", ngrams, None),
                                    ("output_mode", output_mode, "int"), ("pad_to_max_tokens", pad_to_max_tokens, False),
                                    ("idf_weights", idf_weights, None), ("sparse", sparse, False),
                                    ("ragged", ragged, False), ("encoding", encoding, "utf-8")):
            if value != default:
                raise NotImplementedError(f"TextVectorization: {key}={value!r} is not supported by citadel yet "
                                          f"(only {key}={default!r})")
        if standardize is None:
            standardize = "none"
        if kwargs:
            raise TypeError(f"TextVectorization: unexpected arguments {sorted(kwargs)}")
        self.name = name or "text_vectorization"
        self._settings = dict(max_tokens=max_tokens, standardize=standardize,
                              output_sequence_length=output_sequence_length)
        self._native = _citadel.TextVectorization(max_tokens=max_tokens,
                                                  output_sequence_length=output_sequence_length,
                                                  standardize=standardize)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary from the training strings (all of them; batch_size and steps are
        accepted for Keras's signature)."""
        self._native.adapt(_strings(data, "TextVectorization.adapt"))

    def __call__(self, inputs):
        from citadel.keras._symbolic import KerasTensor
        if isinstance(inputs, KerasTensor):
            raise NotImplementedError(_NOT_IN_MODELS)
        single = isinstance(inputs, (str, bytes))
        ids = self._native.transform(_strings(inputs, "TextVectorization"))
        return ids[0] if single else ids

    def get_vocabulary(self, include_special_tokens=True):
        vocabulary = list(self._native.vocabulary())
        return vocabulary if include_special_tokens else vocabulary[2:]

    def set_vocabulary(self, vocabulary, idf_weights=None):
        if idf_weights is not None:
            raise NotImplementedError("TextVectorization.set_vocabulary: idf_weights need output_mode='tf_idf', "
                                      "which citadel does not support yet")
        if isinstance(vocabulary, str):
            vocabulary = _citadel.read_vocabulary_file(vocabulary)
        self._native.set_vocabulary(_strings(list(vocabulary), "TextVectorization.set_vocabulary"))

    def vocabulary_size(self):
        return self._native.vocabulary_size()

    def get_config(self):
        return dict(name=self.name, split="whitespace", output_mode="int", **self._settings)
