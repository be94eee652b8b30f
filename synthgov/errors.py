"""Every error synthgov raises on purpose, rooted in one base class.

Each message names the bad value, where it came from (file, column or key) and the fix.
Messages never quote raw source rows: only column names, counts and declared values.
"""

from __future__ import annotations

import errno


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

    def __init__(self, failed: list, results: list | None = None, quarantined: str | None = None):
        self.failed = list(failed)
        self.results = list(results if results is not None else failed)
        self.quarantined = quarantined
        lines = [f"  - {r.describe()}" for r in self.failed]
        where = f"the candidate was quarantined in {quarantined}" if quarantined else "nothing was promoted"
        super().__init__(f"{len(self.failed)} gate(s) failed; {where}:\n" + "\n".join(lines))


class AuditFailedError(GateFailedError):
    """Raised when the pre-training audit has blocking findings. Nothing trained, no budget spent."""

    def __init__(self, failed: list, results: list | None = None):
        super().__init__(failed, results)
        lines = []
        for r in self.failed:
            lines.append(f"  - {r.describe()}")
            for e in (r.breakdown.get("failed_expectations") or [])[:8]:  # the contract: which column, which rule
                where = f"column '{e['column']}'" if e.get("column") else "the table"
                lines.append(f"      {where}: {e['expectation']}")
            if r.breakdown.get("fix"):
                lines.append(f"      fix: {r.breakdown['fix']}: {r.breakdown.get('columns')}")
        self.args = (f"the audit has {len(self.failed)} blocking finding(s); nothing was trained and no "
                     "privacy budget was spent:\n" + "\n".join(lines),)


class WorkspaceError(SynthgovError):
    """Raised when the workspace folder is missing, not a folder, or cannot be written."""


class BusyError(SynthgovError):
    """Raised when a run cannot start because another run holds the lock it needs (params policy)."""


class ReleaseError(SynthgovError):
    """Raised when the release store is inconsistent or a promotion cannot complete."""


# How a run ended, and the exit code of the command that ran it (documented in the README).
EXIT_CODES = {"succeeded": 0, "gate failed": 1, "bad input": 2, "refused": 2, "storage": 2,
              "internal error": 3, "interrupted": 130}
# errors of the file system, not of synthgov: a full disk, a read-only or forbidden folder
STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT}


def _storage(error: BaseException | None) -> bool:
    return isinstance(error, OSError) and error.errno in STORAGE_ERRNOS


def outcome_of(error: BaseException | None) -> tuple[str, int]:
    """The outcome of a run that ended with `error` (None: success), and its exit code.

    >>> outcome_of(None), outcome_of(GateFailedError([]))[1], outcome_of(ZeroDivisionError())
    (('succeeded', 0), 1, ('internal error', 3))
    """
    if error is None:
        outcome = "succeeded"
    elif isinstance(error, GateFailedError):
        outcome = "gate failed"
    elif isinstance(error, (BusyError, PrivacyBudgetError)):
        outcome = "refused"
    elif isinstance(error, SynthgovError):
        outcome = "bad input"
    elif isinstance(error, KeyboardInterrupt):
        outcome = "interrupted"
    elif _storage(error):
        outcome = "storage"
    else:
        outcome = "internal error"
    return outcome, EXIT_CODES[outcome]


def error_message(error: BaseException) -> str:
    """What a summary, a log line or MLflow may say of an error: synthgov's own messages (which
    never quote a private value), or only the type of an unexpected error, whose message might."""
    if isinstance(error, SynthgovError):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if _storage(error):
        return (f"cannot write {error.filename or 'to the workspace'}: {error.strerror}; free space or make the "
                "workspace writable (or pass --workspace), then run again")
    return (f"internal error: {type(error).__name__} (a bug in synthgov: --verbose shows the traceback, and a "
            "pipeline run keeps it in its folder's error.log)")
