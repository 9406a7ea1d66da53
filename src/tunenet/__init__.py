"""tunenet: train, diagnose and tune fully connected networks, in NumPy.

The curated public API::

    import tunenet
    model = tunenet.mlp(64, hidden=[32, 16], n_out=10)
    result = tunenet.gradient_check(model, X[:32], y[:32], l2=0.1)
    tunenet.save(model, "model.safetensors"); tunenet.load("model.safetensors")
"""

from .errors import CheckpointError, ConfigError, DataError, DivergenceError, TunenetError

__version__ = "0.1.0"

#: public name -> the module that defines it, imported on first use (PEP 562), so that
#: ``import tunenet`` and ``tunenet --help`` do not load NumPy, SciPy or scikit-learn
_LAZY = {
    **dict.fromkeys(("GradCheckResult", "gradient_check"), "diagnose"),
    **dict.fromkeys(("BatchNorm", "Dense", "Dropout", "Identity", "LeakyReLU", "MeanSquaredError", "Parameter",
                     "ReLU", "Sequential", "Sigmoid", "SigmoidBinaryCrossEntropy", "SoftmaxCrossEntropy", "Tanh",
                     "load", "mlp", "save"), "nn"),
    **dict.fromkeys(("MLPClassifier", "MLPRegressor"), "estimators"),
}


def __getattr__(name: str):
    """Load the module behind a public name when it is first asked for."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tunenet' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BatchNorm", "CheckpointError", "ConfigError", "DataError", "Dense", "DivergenceError", "Dropout",
    "GradCheckResult", "Identity", "LeakyReLU", "MLPClassifier", "MLPRegressor", "MeanSquaredError", "Parameter",
    "ReLU", "Sequential", "Sigmoid", "SigmoidBinaryCrossEntropy", "SoftmaxCrossEntropy", "Tanh", "TunenetError",
    "gradient_check", "load", "mlp", "save",
]
