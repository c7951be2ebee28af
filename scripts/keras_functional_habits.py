"""The functional API's habits (keras.Input → layers → keras.Model), run on one framework and
written as JSON for scripts/compare_keras: a residual block, two inputs, two outputs and a
shared layer — the layers' order, weight shapes, summary text, History keys in their order,
evaluate's forms, predict's structure, and predictions after set_weights of the same
weights (keys ending in _values are compared to 1e-5).

Usage: keras_functional_habits.py citadel|keras  (for keras: a Keras 3 with a CPU backend)
"""
import json
import os
import sys

import numpy as np

framework = sys.argv[1]
if framework == "keras":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    from keras import layers
    keras.utils.set_random_seed(1)
else:
    import citadel
    from citadel import keras
    from citadel.keras import layers
    citadel.set_seed(1)

rng = np.random.default_rng(0)
facts = {}


def same_weights(model):
    """Weights both frameworks get: drawn here from the shapes the model reports."""
    generator = np.random.default_rng(7)
    weights = [generator.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)


def summary(model):
    lines = []
    model.summary(line_length=76, print_fn=lambda text, *a, **k: lines.append(text))
    return "\n".join(lines).rstrip("\n")


def error_class(function):
    try:
        function()
    except Exception as error:  # noqa: BLE001 - the class is the fact
        for base in (ValueError, TypeError, NotImplementedError):
            if isinstance(error, base):
                return base.__name__
        return type(error).__name__
    return None


def describe(name, model, x, y=None):
    facts[f"{name}_layers"] = [layer.name for layer in model.layers]
    facts[f"{name}_weight_shapes"] = [list(w.shape) for w in model.get_weights()]
    facts[f"{name}_summary"] = summary(model)
    same_weights(model)
    predicted = model.predict(x, verbose=0)
    if isinstance(predicted, dict):
        facts[f"{name}_predict_type"] = "dict " + " ".join(predicted)
        facts[f"{name}_predict_values"] = {k: v.tolist() for k, v in predicted.items()}
    elif isinstance(predicted, list):
        facts[f"{name}_predict_type"] = f"list of {len(predicted)}"
        facts[f"{name}_predict_values"] = [p.tolist() for p in predicted]
    else:
        facts[f"{name}_predict_type"] = type(predicted).__name__
        facts[f"{name}_predict_values"] = predicted.tolist()


# A residual block.
x = keras.Input((5,), name="x")
h = layers.Dense(6, activation="tanh", name="h")(x)
skip = layers.Add(name="skip")([h, layers.Dense(6, activation="relu", name="branch")(h)])
residual = keras.Model(x, layers.Dense(1, activation="sigmoid", name="out")(skip), name="residual")
data_x = rng.normal(size=(40, 5)).astype(np.float32)
data_y = (data_x[:, :1] > 0).astype(np.float32)
describe("residual", residual, data_x)
residual.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
facts["residual_history_keys"] = list(residual.fit(data_x, data_y, epochs=2, verbose=0, validation_split=0.25).history)
features = keras.Model(residual.input, residual.get_layer("skip").output)
facts["residual_features_values"] = features.predict(data_x, verbose=0).tolist()

# Two inputs, two outputs.
a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
ha = layers.Dense(5, activation="tanh", name="ha")(a)
hb = layers.Dense(5, activation="tanh", name="hb")(b)
out1 = layers.Dense(1, activation="sigmoid", name="out1")(layers.Concatenate(name="joined")([ha, hb]))
out2 = layers.Dense(2, name="out2")(layers.Multiply(name="product")([ha, hb]))
two = keras.Model(inputs=[a, b], outputs=[out1, out2], name="two")
data_a, data_b = rng.normal(size=(40, 4)).astype(np.float32), rng.normal(size=(40, 3)).astype(np.float32)
label = (data_a[:, :1] > 0).astype(np.float32)
amount = rng.normal(size=(40, 2)).astype(np.float32)
describe("two", two, [data_a, data_b])
two.compile(optimizer="adam", loss={"out1": "binary_crossentropy", "out2": "mse"},
            loss_weights={"out1": 1.0, "out2": 0.5}, metrics={"out1": ["accuracy"], "out2": ["mae"]})
# Before training, with the same weights: the same figures.
evaluated = two.evaluate([data_a, data_b], [label, amount], verbose=0, return_dict=True)
facts["two_evaluate_dict_keys"] = list(evaluated)
facts["two_evaluate_list_values"] = two.evaluate([data_a, data_b], [label, amount], verbose=0)
facts["two_evaluate_dict_values"] = [evaluated[k] for k in sorted(evaluated)]
facts["two_history_keys"] = list(two.fit([data_a, data_b], [label, amount], epochs=2, verbose=0,
                                         validation_split=0.25).history)
facts["two_history_keys_dicts"] = list(two.fit({"a": data_a, "b": data_b}, {"out1": label, "out2": amount},
                                               epochs=1, verbose=0).history)
stop = keras.callbacks.EarlyStopping(monitor="val_out1_loss", patience=0, min_delta=10.0, mode="min")
facts["two_early_stopping_epochs"] = len(two.fit([data_a, data_b], [label, amount], epochs=10, verbose=0,
                                                 validation_split=0.25, callbacks=[stop]).epoch)

# A shared layer (a siamese pair) with dict outputs.
left, right = keras.Input((3,), name="left"), keras.Input((3,), name="right")
encoder = layers.Dense(4, activation="tanh", name="encoder")
distance = layers.Subtract(name="distance")([encoder(left), encoder(right)])
shared = keras.Model({"left": left, "right": right},
                     {"same": layers.Dense(1, activation="sigmoid", name="same")(distance),
                      "cosine": layers.Dot(axes=1, normalize=True, name="cosine")([encoder(left), encoder(right)])},
                     name="shared")
data_l, data_r = rng.normal(size=(30, 3)).astype(np.float32), rng.normal(size=(30, 3)).astype(np.float32)
describe("shared", shared, {"left": data_l, "right": data_r})
facts["shared_count_params"] = shared.count_params()

# Mistakes.
p, q = keras.Input((3,)), keras.Input((4,))
facts["error_merge_shapes"] = error_class(lambda: layers.Add()([p, q]))
facts["error_disconnected"] = error_class(lambda: keras.Model(p, layers.Concatenate()([p, q])))

json.dump(facts, sys.stdout, indent=1)
