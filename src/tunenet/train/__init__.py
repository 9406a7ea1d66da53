"""Training: the loop, callbacks, history and checkpoints."""

from .callbacks import Callback, Checkpoint, EarlyStopping, ProgressBar, ReduceLROnPlateau
from .checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from .history import History
from .trainer import Trainer, accuracy, evaluate, evaluate_scores, fit

__all__ = ["Callback", "Checkpoint", "EarlyStopping", "History", "ProgressBar", "ReduceLROnPlateau", "Trainer",
           "accuracy", "checkpoint_path", "evaluate", "evaluate_scores", "fit", "load_checkpoint", "save_checkpoint"]
