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

    def __reduce__(self):  # rebuilt from its checks (a stage run in a child process raises it)
        return self.__class__, (self.failed, self.results, self.quarantined)


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

    def __reduce__(self):
        return self.__class__, (self.failed, self.results)


class NotApprovedError(SynthgovError):
    """Raised when a candidate that passed every gate was rejected by its reviewer or not decided in
    time (release.require_approval). It was quarantined; nothing was promoted."""

    def __init__(self, decision: dict, quarantined: str):
        self.decision, self.quarantined = decision, quarantined
        who = f" by {decision['reviewer']}" if decision.get("reviewer") else ""
        super().__init__(f"the candidate was {decision['decision']}{who} ({decision.get('note') or 'no note'}); "
                         f"nothing was promoted, the candidate was quarantined in {quarantined}")

    def __reduce__(self):
        return self.__class__, (self.decision, self.quarantined)


class WorkspaceError(SynthgovError):
    """Raised when the workspace folder is missing, not a folder, or cannot be written."""


class BusyError(SynthgovError):
    """Raised when a run cannot start because another run holds the lock it needs (params policy)."""


class ReleaseError(SynthgovError):
    """Raised when the release store is inconsistent or a promotion cannot complete."""


class TrackingStoreError(SynthgovError):
    """Raised when the MLflow tracking store (PostgreSQL, a server) cannot be reached or set up."""


# How a run ended, and the exit code of the command that ran it (documented in the README).
EXIT_CODES = {"succeeded": 0, "gate failed": 1, "not approved": 1, "bad input": 2, "refused": 2, "storage": 2,
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
    elif isinstance(error, NotApprovedError):
        outcome = "not approved"
    elif isinstance(error, (BusyError, PrivacyBudgetError)):
        outcome = "refused"
    elif isinstance(error, TrackingStoreError):
        outcome = "storage"
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


def transient(error: BaseException | None) -> bool:
    """An error worth one more try: a network or I/O hiccup, a busy database; never synthgov's own
    errors, a missing file, a full or read-only disk.

    >>> transient(ConnectionResetError()), transient(SourceError("x")), transient(FileNotFoundError())
    (True, False, False)
    """
    if error is None or isinstance(error, SynthgovError) or _storage(error):
        return False
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    if isinstance(error, OSError):
        return error.errno in {errno.EIO, errno.EAGAIN, errno.ETIMEDOUT, errno.ESTALE, errno.EBUSY}
    text = f"{type(error).__name__}: {error}".lower()
    return any(s in text for s in ("database is locked", "connection refused", "connection reset", "timed out",
                                    "temporarily unavailable"))


def retry_transient(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's retry_condition_fn signature
    """Prefect's retry condition of the I/O tasks (reading the source, MLflow, DVC): transient errors only."""
    error = getattr(state, "data", None)
    return transient(error if isinstance(error, BaseException) else None)
