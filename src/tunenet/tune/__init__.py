"""Hyperparameter tuning: search spaces on the right scales, coarse-to-fine rounds,
parallel workers on one machine or many (Optuna storage), pruning, importance.
"""

from .space import Beta, Choice, IntRange, LogUniform, SearchSpace, Uniform, default_space
from .tuner import tune

__all__ = ["Beta", "Choice", "IntRange", "LogUniform", "SearchSpace", "Uniform", "default_space", "tune"]
