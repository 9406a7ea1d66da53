"""Diagnosis: gradient checking (and, later, bias/variance and training health)."""

from .gradcheck import GradCheckResult, gradient_check, relative_difference, verdict

__all__ = ["GradCheckResult", "gradient_check", "relative_difference", "verdict"]
