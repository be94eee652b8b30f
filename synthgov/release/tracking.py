"""MLflow tracking: one parent run per pipeline run, one nested run per stage.

Runs are addressed by id through MlflowClient, never through the fluent API's global active run,
so Prefect's task threads cannot cross-log. Only aggregates are logged: metrics, params, tags,
JSON reports without rows, and the source dataset by its digest (mlflow.log_input, no rows).
The default store is SQLite in the workspace (sqlite:///mlflow.db) with local artifacts; production
points `--tracking-uri` (or MLFLOW_TRACKING_URI) at PostgreSQL and `--artifact-root` (or
SYNTHGOV_ARTIFACT_ROOT) at a separate artifact store. One store serves one workspace.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, ConfigDict

from synthgov.checks import CheckResult

EXPERIMENT = "synthgov"


class Tracking(BaseModel):
    """Where a pipeline run logs: the store, the experiment and the parent run."""

    model_config = ConfigDict(frozen=True)

    uri: str
    experiment_id: str
    parent_run_id: str
    run_id: str

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri)


def default_uri(workspace: Path) -> str:
    return f"sqlite:///{(Path(workspace) / 'mlflow.db').resolve()}"


def resolve_uri(uri: str | None, workspace: Path) -> str:
    """The tracking store: the one given, else MLFLOW_TRACKING_URI, else SQLite in the workspace."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or default_uri(workspace)


def artifact_root(workspace: Path, root: str | None = None) -> str:
    """Where the experiment keeps its artifacts: the root given, else SYNTHGOV_ARTIFACT_ROOT, else
    <workspace>/mlartifacts. A local path becomes a file URI; any other URI (s3://...) is kept."""
    root = root or os.environ.get("SYNTHGOV_ARTIFACT_ROOT")
    if root and "://" in root:
        return root.rstrip("/")
    return Path(root or Path(workspace) / "mlartifacts").resolve().as_uri()


def redact(uri: str) -> str:
    """`uri` without its password (for logs and errors).

    >>> redact("postgresql://synthgov:s3cret@db:5432/mlflow")
    'postgresql://synthgov:***@db:5432/mlflow'
    """
    return re.sub(r"(://[^:/@]+):[^@/]+@", r"\1:***@", uri)


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = json.dumps(value) if isinstance(value, list) else str(value)


def _experiment_id(client, workspace: Path, artifacts: str | None = None) -> str:
    """The synthgov experiment, created on first use (a concurrent creation is not an error); its
    artifact location is fixed then (`artifact_root`)."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    artifacts = artifact_root(workspace, artifacts)
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=artifacts)
    except MlflowException:
        return client.get_experiment_by_name(EXPERIMENT).experiment_id


def prepare_store(uri: str, workspace: Path, artifacts: str | None = None) -> str:
    """Create or migrate the tracking store and the experiment, once, under the workspace's
    mlflow-setup lock: concurrent first runs would otherwise race in MLflow's schema setup.
    An unreachable store is a TrackingStoreError naming the store (password hidden) and the fix."""
    from mlflow import MlflowClient

    from synthgov.errors import TrackingStoreError
    from synthgov.locks import locked

    with locked(Path(workspace), "mlflow-setup", wait=600, what="the MLflow store setup"):
        try:
            _probe(uri)
            return _experiment_id(MlflowClient(tracking_uri=uri), workspace, artifacts)
        except ModuleNotFoundError as exc:
            raise TrackingStoreError(f"{redact(uri)}: the driver of this store is not installed ({exc.name}); "
                                     "install synthgov with its 'scale' extra (pip install -c constraints.txt "
                                     "-e '.[scale]')") from None
        except Exception as exc:
            if uri.startswith(("sqlite:", "file:")):
                raise
            raise TrackingStoreError(f"{redact(uri)}: the MLflow tracking store cannot be reached or set up "
                                     f"({type(exc).__name__}); check that the server runs, the database "
                                     "exists and the user may create tables (the password goes in PGPASSWORD "
                                     "or ~/.pgpass, not in the URI)") from None


def _probe(uri: str, attempts: int = 3) -> None:
    """Connect once to a database store before MLflow does: MLflow retries an unreachable database
    for about 100 s before it gives up; this says so in seconds (a short retry covers a restart)."""
    import time

    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ("postgresql", "mysql"):
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(uri, connect_args={"connect_timeout": 10}, poolclass=sqlalchemy.pool.NullPool)
    try:
        for attempt in range(attempts):
            try:
                with engine.connect():
                    return
            except sqlalchemy.exc.OperationalError:
                if attempt == attempts - 1:
                    raise
                time.sleep(2.0)
    finally:
        engine.dispose()


def start_pipeline(uri: str, exp_id: str, run_id: str, params: dict[str, Any],
                   tags: dict[str, str], run_name: str | None = None) -> Tracking:
    """Create the parent run in experiment `exp_id` (from prepare_store), logging every param
    (schema excluded: it is logged as a file)."""
    from mlflow import MlflowClient
    from mlflow.entities import Param

    client = MlflowClient(tracking_uri=uri)
    run = client.create_run(exp_id, run_name=run_name or f"pipeline-{run_id}",
                            tags={**tags, "synthgov.run_id": run_id})
    flat: dict[str, str] = {}
    logged = {k: v for k, v in params.items() if k != "schema"}
    if isinstance(logged.get("gates"), dict) and "gates" in logged["gates"]:  # gates.<name>.severity, not gates.gates.
        logged["gates"] = logged["gates"]["gates"]
    _flatten("", logged, flat)
    items = [Param(k, v[:6000]) for k, v in flat.items()]
    for i in range(0, len(items), 100):
        client.log_batch(run.info.run_id, params=items[i:i + 100])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.json"
        path.write_text(json.dumps(params, indent=2, default=str))
        client.log_artifact(run.info.run_id, str(path))
    return Tracking(uri=uri, experiment_id=exp_id, parent_run_id=run.info.run_id, run_id=run_id)


def close_dead_runs(uri: str, alive, by: str) -> list[str]:
    """Mark KILLED every RUNNING MLflow run (parent or stage) of a synthgov run whose process is
    gone (`alive(run_id)` is False), with a tag saying who found it. Returns their MLflow ids."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    if exp is None:
        return []
    closed = []
    for run in client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'", max_results=5000):
        sid = run.data.tags.get("synthgov.run_id")
        if sid and not alive(sid):
            client.set_tag(run.info.run_id, "synthgov.killed",
                           f"its process ended without closing the run; closed by run {by}")
            client.set_terminated(run.info.run_id, status="KILLED")
            closed.append(run.info.run_id)
    return closed


@contextmanager
def stage_run(tracking: Tracking | None, stage: str) -> Iterator[str | None]:
    """A nested MLflow run for one stage, FINISHED on success and FAILED on error."""
    if tracking is None:
        yield None
        return
    client = tracking.client()
    run = client.create_run(tracking.experiment_id, run_name=stage,
                            tags={"mlflow.parentRunId": tracking.parent_run_id,
                                  "synthgov.stage": stage, "synthgov.run_id": tracking.run_id})
    try:
        yield run.info.run_id
    except BaseException:
        client.set_terminated(run.info.run_id, status="FAILED")
        raise
    client.set_terminated(run.info.run_id, status="FINISHED")


def log_metrics(tracking: Tracking, run_id: str, metrics: dict[str, float]) -> None:
    """Log the finite numeric values of `metrics` (non-numbers are skipped; inf becomes a tag)."""
    from mlflow.entities import Metric

    client = tracking.client()
    metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    items = [Metric(k, float(v), 0, 0) for k, v in metrics.items()
             if not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))]
    client.log_batch(run_id, metrics=items)
    special = {k: str(v) for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)}
    for k, v in special.items():
        client.set_tag(run_id, f"metric.{k}", v)


def log_checks(tracking: Tracking, run_ids: list[str], checks: list[CheckResult]) -> None:
    """Each check as metrics gate.<name>.score/threshold/passed, on every run in `run_ids`."""
    metrics: dict[str, float] = {}
    for c in checks:
        metrics[f"gate.{c.name}.score"] = c.score
        metrics[f"gate.{c.name}.threshold"] = c.threshold
        metrics[f"gate.{c.name}.passed"] = float(c.passed)
    for rid in run_ids:
        log_metrics(tracking, rid, metrics)


def log_json(tracking: Tracking, run_id: str, name: str, payload: Any) -> None:
    client = tracking.client()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
        client.log_artifact(run_id, str(path))


def log_datasets(tracking: Tracking, run_ids: list[str], snapshot: dict[str, Any], source: str,
                 holdout: str | None) -> None:
    """mlflow.log_input for the training rows (context `training`) and the holdout (context
    `evaluation`): content digest, schema and row count; never a row."""
    from mlflow.entities import Dataset, DatasetInput, InputTag

    schema = json.dumps({"columns": snapshot["columns"]})
    inputs = []
    for name, key, uri, rows, context in (
            ("source", "source_hash", source, snapshot["train_rows"], "training"),
            ("holdout", "holdout_hash", holdout or f"{source} (split: {snapshot.get('holdout_split')})",
             snapshot["holdout_rows"], "evaluation")):
        dataset = Dataset(name=name, digest=snapshot[key][:36], source_type="local",
                          source=json.dumps({"uri": uri}), schema=schema, profile=json.dumps({"num_rows": rows}))
        inputs.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", context)]))
    for rid in run_ids:
        tracking.client().log_inputs(rid, datasets=inputs)


def review_page(tracking: Tracking, summary: dict[str, Any]) -> None:
    """What a reviewer sees first on the parent run: tags for the verdict (promoted, failed and
    warn gates, release, outcome), a readable run name, and a description leading with the verdict."""
    client = tracking.client()
    trigger = client.get_run(tracking.parent_run_id).data.tags.get("synthgov.trigger", "manual")
    failed, warned = summary["failed_gates"], summary["warn_gates"]
    tags = {"synthgov.promoted": str(bool(summary["promoted"])).lower(), "synthgov.outcome": summary["outcome"],
            "synthgov.failed_gates": ", ".join(failed) or "none", "synthgov.warn_gates": ", ".join(warned) or "none",
            "synthgov.undecidable_gates": ", ".join(summary.get("undecidable_gates") or []) or "none",
            "synthgov.release_id": summary["release_id"] or "none"}
    if summary.get("approval") and summary["approval"].get("required"):
        a = summary["approval"]
        tags.update({"synthgov.approval": str(a.get("decision")), "synthgov.approval.reviewer": str(a.get("reviewer")),
                     "synthgov.approval.note": str(a.get("note") or "")[:4000]})
    verdict = (f"PROMOTED as release {summary['release_id']}" if summary["promoted"] else
               f"NOT PROMOTED ({summary['outcome']})")
    lines = [f"## {verdict}", "",
             f"- Blocking gates failed: {', '.join(failed) or 'none'}",
             f"- Warn gates failed (they do not block): {', '.join(warned) or 'none'}",
             f"- epsilon {summary['epsilon']:.4g}, delta {summary['delta']:.3g} ({summary['neighbouring']}); "
             f"this run spent epsilon {summary['epsilon_this_run']:.4g}",
             f"- Trigger: {trigger}; synthgov run `{summary['run_id']}`"]
    if summary.get("error"):
        lines.append(f"- Error: {summary['error'][:2000]}")
    if "synthgov.approval" in tags:
        lines.append(f"- Approval: {tags['synthgov.approval']} by {tags['synthgov.approval.reviewer']}")
    tags["mlflow.note.content"] = "\n".join(lines)
    for k, v in tags.items():
        client.set_tag(tracking.parent_run_id, k, v)
    name = (f"release {summary['release_id']}" if summary["promoted"] else f"{summary['run_id']} {summary['outcome']}")
    client.update_run(tracking.parent_run_id, name=f"{name} · {trigger}"[:250])


def log_severities(tracking: Tracking, run_id: str, checks: list[CheckResult]) -> None:
    """Each gate's severity (block or warn) as a tag gate.<name>.severity beside its metrics."""
    client = tracking.client()
    for c in checks:
        client.set_tag(run_id, f"gate.{c.name}.severity", c.severity)


def finish_pipeline(tracking: Tracking, status: str) -> None:
    tracking.client().set_terminated(tracking.parent_run_id, status=status)
