"""Weight penalties, as keras.regularizers: l1, l2, l1_l2 (and their classes)."""


class Regularizer:
    pass


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __call__(self, weights):
        import numpy as np
        w = np.asarray(weights, dtype=np.float64)
        return self.l1 * np.abs(w).sum() + self.l2 * np.square(w).sum()

    def _serialize(self):
        return {"class_name": "L1L2", "config": self.get_config()}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


def l1(l1=0.01):
    return L1(l1)


def l2(l2=0.01):
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1, l2)


def serialize(regularizer):
    if regularizer is None or isinstance(regularizer, str):
        return regularizer
    if isinstance(regularizer, L1L2):
        return regularizer._serialize()
    raise TypeError(f"regularizer: expected a name or a citadel.keras.regularizers object, got {regularizer!r}")


def get(identifier):
    return serialize(identifier)
