"""keras.utils: to_categorical, set_random_seed, audio_dataset_from_directory and speech features."""
import numpy as np

import citadel


def to_categorical(y, num_classes=None, dtype="float32"):
    """Class indices as one-hot rows, as keras.utils.to_categorical."""
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class indices must be >= 0, got {int(y.min())}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    elif y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: class index {int(y.max())} is not below num_classes={num_classes}")
    result = np.zeros((y.size, num_classes), dtype=dtype)
    result[np.arange(y.size), y] = 1
    return result.reshape(shape + (num_classes,))


def set_random_seed(seed):
    """Seeds citadel (and numpy's global generator, as Keras does)."""
    citadel.set_seed(seed)
    np.random.seed(seed % (2 ** 32))


class AudioDataset:
    """What audio_dataset_from_directory returns: batches of (waveforms, labels) as numpy
    arrays, iterable like Keras's tf.data.Dataset, with its class_names; `x`, `y` and
    `file_paths` hold every row (Keras's `dataset.file_paths`)."""

    def __init__(self, x, y, class_names, file_paths, batch_size):
        self.x, self.y, self.class_names, self.file_paths = x, y, list(class_names), list(file_paths)
        self.batch_size = batch_size

    def __iter__(self):
        if self.batch_size is None:
            yield from zip(self.x, self.y)
            return
        for start in range(0, len(self.y), self.batch_size):
            yield self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]

    def __len__(self):
        if self.batch_size is None:
            return len(self.y)
        return (len(self.y) + self.batch_size - 1) // self.batch_size


def _audio_labels(y, label_mode, classes):
    if label_mode == "int":
        return y.astype("int32")
    if label_mode == "categorical":
        return to_categorical(y, classes)
    if label_mode == "binary":
        if classes != 2:
            raise ValueError(f"label_mode='binary' needs exactly 2 classes, found {classes}")
        return y.astype("float32").reshape(-1, 1)
    raise ValueError(f"label_mode must be 'int', 'categorical' or 'binary', got {label_mode!r}")


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, validation_split=None,
                                 subset=None, follow_links=False, verbose=True, seed=None, shuffle=True):
    """Keras's audio_dataset_from_directory over citadel's reader: class folders of WAV files
    (any PCM or float format, mixed to mono) as (batch, length, 1) float32 waveforms, padded
    with zeros to output_sequence_length (default: the longest file) or cut. Unlike Keras,
    files are resampled to sampling_rate (default 16000) instead of refused, and the batches
    are numpy arrays."""
    import citadel._citadel as native

    if labels != "inferred":
        raise ValueError("audio_dataset_from_directory: only labels='inferred' (class folders) is supported")
    if ragged:
        raise ValueError("audio_dataset_from_directory: ragged=True is not supported; give output_sequence_length")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f"subset must be 'training', 'validation' or 'both', got {subset!r}")
    if (subset is None) != (validation_split is None):
        raise ValueError("validation_split and subset go together: give both or neither")
    x, y, names, paths = native.load_audio_directory(str(directory), int(sampling_rate or 16000),
                                                     int(output_sequence_length or 0), bool(follow_links))
    if class_names is not None:
        if sorted(class_names) != sorted(names):
            raise ValueError(f"class_names {list(class_names)} differ from the folder's classes {names}")
        remap = np.array([list(class_names).index(n) for n in names], dtype="int32")
        y, names = remap[y], list(class_names)
    paths = np.array(paths, dtype=object)
    if verbose:
        print(f"Found {len(y)} files belonging to {len(names)} classes.")
    order = np.arange(len(y))
    if shuffle or validation_split:
        order = np.random.default_rng(seed if seed is not None else 1337).permutation(len(y))
    x, y, paths = x[order], y[order], paths[order]

    def make(rows):
        return AudioDataset(x[rows], _audio_labels(y[rows], label_mode, len(names)), names, paths[rows], batch_size)

    if validation_split is None:
        return make(slice(None))
    held = int(validation_split * len(y))
    training, validation = make(slice(0, len(y) - held)), make(slice(len(y) - held, None))
    if verbose and subset in ("training", "both"):
        print(f"Using {len(y) - held} files for training.")
    if verbose and subset in ("validation", "both"):
        print(f"Using {held} files for validation.")
    return {"training": training, "validation": validation, "both": (training, validation)}[subset]


def log_mel_spectrogram(samples, sample_rate=16000, frame_length=400, frame_step=160, fft_length=512, mel_bins=40,
                        lower_hz=20.0, upper_hz=8000.0):
    """(frames, mel_bins) natural-log mel energies of mono samples (citadel/data/audio_features.hpp)."""
    import citadel._citadel as native
    return native.log_mel_spectrogram(np.asarray(samples, dtype="float32").reshape(-1), sample_rate, frame_length,
                                      frame_step, fft_length, mel_bins, lower_hz, upper_hz)


def mfcc(samples, sample_rate=16000, frame_length=400, frame_step=160, fft_length=512, mel_bins=40, lower_hz=20.0,
         upper_hz=8000.0, mfcc_count=13):
    """(frames, mfcc_count) MFCCs: the orthonormal DCT-II of each log-mel frame."""
    import citadel._citadel as native
    return native.mfcc(np.asarray(samples, dtype="float32").reshape(-1), sample_rate, frame_length, frame_step,
                       fft_length, mel_bins, lower_hz, upper_hz, mfcc_count)


def load_wav(path):
    """(mono float32 samples, sample rate) of a WAV file."""
    import citadel._citadel as native
    return native.load_wav(str(path))


def resample(samples, from_rate, to_rate):
    """Band-limited resampling of mono samples (a Hann-windowed sinc), as the reader resamples files."""
    import citadel._citadel as native
    return native.resample(np.asarray(samples, dtype="float32").reshape(-1), int(from_rate), int(to_rate))
