"""Diagnosis: gradient checking, bias/variance, training health, findings and the learning-rate range test."""

from .bias_variance import BiasVariance, bias_variance
from .findings import Finding, diagnose, diagnose_run, read_diagnosis, write_diagnosis
from .gradcheck import GradCheckResult, gradient_check, relative_difference, verdict
from .health import HealthLog, HealthMonitor
from .lr_range import LRRangeResult, lr_range_test

__all__ = ["BiasVariance", "Finding", "GradCheckResult", "HealthLog", "HealthMonitor", "LRRangeResult",
           "bias_variance", "diagnose", "diagnose_run", "gradient_check", "lr_range_test", "read_diagnosis",
           "relative_difference", "verdict", "write_diagnosis"]
