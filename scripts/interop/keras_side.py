"""Real Keras 3's side of scripts/check_interop (run in build/venv-interop).

  write DIR   writes a .keras file (and a legacy .h5, and a .weights.h5 with its JSON
              config) of each model below, with random weights and moving statistics,
              their inputs and Keras's predictions (DIR/<name>.x.npy, DIR/<name>.keras.npy)
  read DIR    loads each citadel-exported DIR/<name>.citadel.keras with keras.saving and
              writes its predictions on the same inputs to DIR/<name>.reloaded.npy
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402


def models():
    yield "dense", (8,), [layers.Dense(16, activation="relu", kernel_regularizer=keras.regularizers.l2(0.01)),
                          layers.Dense(12, activation="tanh"), layers.Dense(3, activation="softmax")]
    yield "binary", (8,), [layers.Dense(10, activation="relu"), layers.Dense(10, activation="relu"),
                           layers.Dense(1, activation="sigmoid")]
    yield "batchnorm", (6,), [layers.Dense(12, activation="elu"), layers.BatchNormalization(epsilon=1e-3),
                              layers.Dropout(0.3), layers.Dense(4, activation="selu"),
                              layers.BatchNormalization(center=False), layers.Dense(1)]
    yield "activations", (5,), [layers.Dense(9), layers.Activation("gelu"), layers.Dense(9, activation="swish"),
                                layers.Dense(9, activation="softplus"), layers.Dense(9, activation="leaky_relu"),
                                layers.Dense(2, activation="softmax")]
    yield "conv", (12, 12, 2), [layers.Conv2D(6, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
                                layers.Conv2D(5, (3, 2), strides=(2, 1), padding="valid", activation="tanh"),
                                layers.Flatten(), layers.Dense(4, activation="softmax")]
    yield "conv_bn_pool", (11, 11, 3), [layers.Conv2D(4, 3, padding="same"), layers.BatchNormalization(),
                                        layers.Activation("relu"), layers.AveragePooling2D(2, padding="same"),
                                        layers.Conv2D(8, 2, dilation_rate=2), layers.GlobalAveragePooling2D(),
                                        layers.Dense(3, activation="softmax")]
    yield "global_max", (9, 9, 1), [layers.Conv2D(3, 3, activation="relu"), layers.GlobalMaxPooling2D(),
                                    layers.Dense(2, activation="softmax")]
    yield "reshape", (12,), [layers.Reshape((2, 2, 3)), layers.Conv2D(4, 2, padding="same", activation="relu"),
                             layers.Flatten(), layers.Dense(1, activation="sigmoid")]


def randomize(model, rng):
    weights = []
    for w in model.get_weights():
        v = rng.normal(0, 0.4, w.shape).astype(np.float32)
        weights.append(v)
    # Moving variances must stay positive.
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.build(layer.input.shape) if not layer.built else None
    model.set_weights(weights)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, layer.moving_variance.shape).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0, 0.5, layer.moving_mean.shape).astype(np.float32))


def write(directory):
    rng = np.random.default_rng(7)
    for name, shape, stack in models():
        model = keras.Sequential([keras.Input(shape)] + stack, name=name)
        randomize(model, rng)
        x = rng.normal(0, 1, (32,) + shape).astype(np.float32)
        np.save(os.path.join(directory, f"{name}.x.npy"), x)
        np.save(os.path.join(directory, f"{name}.keras.npy"), model.predict(x, verbose=0))
        model.save(os.path.join(directory, f"{name}.keras"))
        model.save(os.path.join(directory, f"{name}.h5"))
        model.save_weights(os.path.join(directory, f"{name}.weights.h5"))
        with open(os.path.join(directory, f"{name}.json"), "w") as f:
            f.write(model.to_json())
        print(name, "written")


def read(directory):
    for name, _, _ in models():
        path = os.path.join(directory, f"{name}.citadel.keras")
        model = keras.saving.load_model(path)
        x = np.load(os.path.join(directory, f"{name}.x.npy"))
        np.save(os.path.join(directory, f"{name}.reloaded.npy"), model.predict(x, verbose=0))
        print(name, "loaded by Keras")


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
