"""tunenet.train."""
