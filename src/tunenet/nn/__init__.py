"""The NumPy engine: parameters, layers, losses, initialisers, models."""

from .init import INITIALIZERS, get_initializer
from .io import load, save
from .layers import ACTIVATIONS, BatchNorm, Dense, Dropout, Identity, Layer, LeakyReLU, ReLU, Sigmoid, Tanh
from .losses import Loss, MeanSquaredError, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy, add_penalty_grad, penalty
from .model import Sequential, mlp
from .parameter import Parameter

__all__ = [
    "ACTIVATIONS", "INITIALIZERS", "BatchNorm", "Dense", "Dropout", "Identity", "Layer", "LeakyReLU",
    "Loss", "MeanSquaredError", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "SigmoidBinaryCrossEntropy", "SoftmaxCrossEntropy", "Tanh", "add_penalty_grad", "get_initializer",
    "load", "mlp", "penalty", "save",
]
