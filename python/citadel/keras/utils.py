"""keras.utils: to_categorical, set_random_seed."""
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
