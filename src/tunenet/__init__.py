"""tunenet: train, diagnose and tune fully connected networks, in NumPy.

The curated public API::

    import tunenet
    model = tunenet.mlp(64, hidden=[32, 16], n_out=10)
    result = tunenet.gradient_check(model, X[:32], y[:32], l2=0.1)
    tunenet.save(model, "model.safetensors"); tunenet.load("model.safetensors")
"""

from .diagnose import GradCheckResult, gradient_check
from .errors import CheckpointError, ConfigError, DataError, DivergenceError, TunenetError
from .nn import (
                 BatchNorm,
                 Dense,
                 Dropout,
                 Identity,
                 LeakyReLU,
                 MeanSquaredError,
                 Parameter,
                 ReLU,
                 Sequential,
                 Sigmoid,
                 SigmoidBinaryCrossEntropy,
                 SoftmaxCrossEntropy,
                 Tanh,
                 load,
                 mlp,
                 save,
)

__version__ = "0.1.0"


def __getattr__(name: str):
    """``tunenet.MLPClassifier`` / ``tunenet.MLPRegressor`` load scikit-learn only when asked for."""
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'tunenet' has no attribute {name!r}")


__all__ = [
    "BatchNorm", "CheckpointError", "ConfigError", "DataError", "Dense", "DivergenceError", "Dropout",
    "GradCheckResult", "Identity", "LeakyReLU", "MLPClassifier", "MLPRegressor", "MeanSquaredError", "Parameter",
    "ReLU", "Sequential", "Sigmoid", "SigmoidBinaryCrossEntropy", "SoftmaxCrossEntropy", "Tanh", "TunenetError",
    "gradient_check", "load", "mlp", "save",
]
