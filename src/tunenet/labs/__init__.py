"""tunenet.labs."""
