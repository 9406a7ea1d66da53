"""tunenet.tune."""
