"""User-facing errors.

Every mistake a user can make (bad data, a bad option, a tampered file) raises
a :class:`TunenetError`. It is a ``ValueError`` so that generic code (and
scikit-learn's checks) treat it as bad input. The message names what is wrong,
where (file, row, column, parameter) and what would be accepted. The CLI
prints it as one line ``error: ...`` and exits with status 2.
"""

from __future__ import annotations


class TunenetError(ValueError):
    """A user mistake: bad input, bad option, unreadable file."""


class DataError(TunenetError):
    """Input data is malformed (NaN, wrong shape, unknown labels, bad file)."""


class ConfigError(TunenetError):
    """An option or configuration value is invalid."""


class CheckpointError(TunenetError):
    """A saved model or checkpoint is missing, truncated, tampered or foreign."""


class DivergenceError(TunenetError):
    """Training produced a NaN or infinite loss or gradient."""


class LockedError(TunenetError):
    """A run or study directory is in use by another process."""
