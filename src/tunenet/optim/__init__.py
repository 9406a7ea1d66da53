"""tunenet.optim."""
