"""tunenet.report."""
