"""Metrics by Keras's names, or as objects (Precision(), AUC(), ...), computed by citadel
over whole epochs (precision, recall, F1 and AUC are exact, not batch averages)."""


class Metric:
    _citadel_name = None

    def __init__(self, name=None):
        self.name = name or self._citadel_name

    def _serialize(self):
        return self._citadel_name


def _define(class_name, citadel_name):
    globals()[class_name] = type(class_name, (Metric,), {"_citadel_name": citadel_name})


for _class_name, _citadel_name in [("Accuracy", "accuracy"), ("BinaryAccuracy", "accuracy"),
                                   ("CategoricalAccuracy", "accuracy"), ("SparseCategoricalAccuracy", "accuracy"),
                                   ("Precision", "precision"), ("Recall", "recall"), ("AUC", "auc"),
                                   ("F1Score", "f1_score"), ("MeanSquaredError", "mse"),
                                   ("MeanAbsoluteError", "mae")]:
    _define(_class_name, _citadel_name)


def serialize(metric):
    if isinstance(metric, str):
        return metric
    if isinstance(metric, Metric):
        return metric._serialize()
    raise TypeError(f"metrics: expected names or citadel.keras.metrics objects, got {metric!r}")


# Keras 3 names this module lacks raise an error that says so (_unsupported.py).
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras.metrics")
