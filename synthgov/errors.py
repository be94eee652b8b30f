"""Every error synthgov raises on purpose, rooted in one base class.

Each message names the bad value, where it came from (file, column or key) and the fix.
Messages never quote raw source rows: only column names, counts and declared values.
"""

from __future__ import annotations


class SynthgovError(Exception):
    """Base class of every error that synthgov raises on purpose."""


class ParamsError(SynthgovError):
    """Raised when a params file is missing, is not valid YAML, or fails validation."""


class SourceError(SynthgovError):
    """Raised when a source file cannot be read or does not match the declared schema."""


class PrivacyBudgetError(SynthgovError):
    """Raised when a privacy budget cannot be met or would be exceeded. Never a warning."""


class RegistryError(SynthgovError):
    """Raised when a name (synthesizer, accountant) is not in its registry."""


class GateFailedError(SynthgovError):
    """Raised when one or more blocking gates fail. Carries every check result."""

    def __init__(self, failed: list, results: list | None = None):
        self.failed = list(failed)
        self.results = list(results if results is not None else failed)
        lines = [f"  - {r.describe()}" for r in self.failed]
        super().__init__(
            f"{len(self.failed)} gate(s) failed; the candidate was quarantined and not promoted:\n"
            + "\n".join(lines)
        )


class AuditFailedError(GateFailedError):
    """Raised when the pre-training audit has blocking findings. No privacy budget is spent."""


class ReleaseError(SynthgovError):
    """Raised when the release store is inconsistent or a promotion cannot complete."""
