"""Thin Prefect tasks over the pure stage functions: load inputs, call, save outputs, log.

The same functions (their `.fn`) are what `synthgov stage NAME` runs for dvc.yaml, so `dvc repro`
and the Prefect flow execute identical code. Every output file is written atomically into
artifacts/<stage>/ of the workspace; MLflow logging happens only when a Tracking is given.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from synthgov.checks import CheckResult
from synthgov.release import tracking as trk
from synthgov.errors import AuditFailedError, GateFailedError, RegistryError
from synthgov.params import Params
from synthgov.atomic import write_json_atomic
from synthgov.release.promote import ReleaseStore

log = logging.getLogger("synthgov")
STAGES = ["ingest", "audit", "train", "generate", "validate", "attack", "gate", "promote"]


class Workspace:
    """Paths of one workspace: artifacts/<stage>/ for the candidate, releases/ and quarantine/."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    def stage_dir(self, stage: str) -> Path:
        d = self.root / "artifacts" / stage
        d.mkdir(parents=True, exist_ok=True)
        return d

    def read_json(self, stage: str, name: str) -> dict[str, Any]:
        return json.loads((self.stage_dir(stage) / name).read_text())


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _candidate_frames(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The training snapshot, the real holdout and the synthetic candidate."""
    return (pd.read_parquet(ws.stage_dir("ingest") / "train.parquet"),
            pd.read_parquet(ws.stage_dir("ingest") / "holdout.parquet"),
            pd.read_parquet(ws.stage_dir("generate") / "synthetic.parquet"))


def _checks(payload: dict[str, Any]) -> list[CheckResult]:
    return [CheckResult.model_validate(c) for c in payload.get("checks", [])]


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None,
                 check_budget: bool = True) -> dict[str, Any]:
    """Snapshot the source and the holdout into artifacts/ingest/, content-hashed."""
    from synthgov.ingest.readers import read_source
    from synthgov.ingest import ingest

    ws, d = Workspace(workspace), params.data
    source = read_source(ws.path(d.source), d.format)
    holdout = read_source(ws.path(d.holdout), d.format) if d.holdout else None
    train, held, manifest = ingest(source, holdout, params, source_name=str(ws.path(d.source)),
                                   holdout_name=str(ws.path(d.holdout)) if d.holdout else "holdout")
    out = ws.stage_dir("ingest")
    _write_parquet(train, out / "train.parquet")
    _write_parquet(held, out / "holdout.parquet")
    manifest["source"] = d.source
    write_json_atomic(out / "snapshot.json", manifest)
    if check_budget:
        _check_budget(ws, params, manifest)
    with trk.stage_run(tracking, "ingest") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, {"train_rows": manifest["train_rows"],
                                               "holdout_rows": manifest["holdout_rows"]})
            trk.log_source_dataset(tracking, [run_id, tracking.parent_run_id], manifest["source_hash"],
                                   d.source, manifest["columns"], manifest["train_rows"])
            trk.log_json(tracking, run_id, "snapshot.json", manifest)
    log.info("ingest: %d training rows, %d holdout rows, source %s", manifest["train_rows"],
             manifest["holdout_rows"], manifest["source_hash"][:12])
    if manifest["undeclared_columns_dropped"]:
        log.warning("ingest: undeclared column(s) %s dropped, never trained; identifier-like: %s",
                    manifest["undeclared_columns_dropped"], [f["column"] for f in manifest["identifiers"]])
    return manifest


def _planned_spend(params: Params, n_rows: int) -> tuple[float, float]:
    return (params.privacy.epsilon, params.delta_for(n_rows)) if params.dp else (float("inf"), 0.0)


def _check_budget(ws: Workspace, params: Params, manifest: dict[str, Any]) -> None:
    """Refuse the run, before any training, if it would exceed the source version's budget."""
    from synthgov.privacy.ledger import PrivacyLedger

    eps, delta = _planned_spend(params, manifest["train_rows"])
    PrivacyLedger(ws.root).check(manifest["source_hash"], eps, delta,
                                 params.privacy.budget_epsilon, params.privacy.budget_delta)


@task(name="audit", cache_policy=NO_CACHE)
def audit_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Contract, bias, proxies, identifiers, label quality and drift of the training snapshot
    (audit.json/.html); blocking findings stop the run here, before any budget is spent."""
    from synthgov.audit import audit
    from synthgov.audit.contract import load_contract
    from synthgov.reports.audit import audit_html

    ws = Workspace(workspace)
    train = pd.read_parquet(ws.stage_dir("ingest") / "train.parquet")
    snapshot = ws.read_json("ingest", "snapshot.json")
    report, checks = audit(train, params, snapshot["type_errors"]["train"], contract=load_contract(ws.root, params),
                           identifiers=snapshot.get("identifiers", []),
                           last_profile=(ReleaseStore(ws.root).current_json("audit.json") or {}).get("source_profile"))
    report["checks"] = [c.model_dump(mode="json") for c in checks]
    out = ws.stage_dir("audit")
    write_json_atomic(out / "audit.json", report)
    page = out / "audit.html"
    page.with_name(".audit.html.tmp").write_text(audit_html(report, params))
    os.replace(page.with_name(".audit.html.tmp"), page)
    with trk.stage_run(tracking, "audit") as run_id:
        if run_id:
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], checks)
            trk.log_json(tracking, run_id, "audit.json", report)
            tracking.client().log_artifact(run_id, str(page))
    for c in checks:
        log.info("audit: %s", c.describe())
    if report["drift"].get("drifted"):
        log.warning("audit: drift against the last release's source in %s", report["drift"]["drifted"])
    failed = [c for c in checks if c.blocking_failure]
    if failed:
        raise AuditFailedError(failed, checks)
    return report


@task(name="train", cache_policy=NO_CACHE)
def train_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Fit the chosen synthesizer (DP-SGD for DP ones) and save it with its privacy report."""
    from synthgov.release.gate import privacy_check
    from synthgov.synthesizers import get_synthesizer

    from synthgov.privacy.ledger import PrivacyLedger
    from synthgov.tasks.run import new_run_id

    ws = Workspace(workspace)
    train = pd.read_parquet(ws.stage_dir("ingest") / "train.parquet")
    if params.train.max_rows and len(train) > params.train.max_rows:
        train = train.sample(n=params.train.max_rows, random_state=params.train.seed)
    snapshot = ws.read_json("ingest", "snapshot.json")
    _check_budget(ws, params, snapshot)
    synth = get_synthesizer(params.train.synthesizer)()
    with trk.stage_run(tracking, "train") as run_id:
        report = synth.fit(train, params)
        cumulative = PrivacyLedger(ws.root).record(
            snapshot["source_hash"], tracking.run_id if tracking else new_run_id(),
            report["epsilon"], report["delta"], synth.name)
        report.update(epsilon_cumulative=cumulative[0], delta_cumulative=cumulative[1],
                      budget_epsilon=params.privacy.budget_epsilon,
                      budget_delta=params.privacy.budget_delta, composition="sequential")
        check = privacy_check(report, params)
        report["checks"] = [check.model_dump(mode="json")]
        out = ws.stage_dir("train")
        synth.save(out / "model")
        write_json_atomic(out / "training.json", report)
        if run_id:
            metrics = {k: v for k, v in report.items() if isinstance(v, (int, float))}
            trk.log_metrics(tracking, run_id, metrics)
            trk.log_metrics(tracking, tracking.parent_run_id, {
                "epsilon": report["epsilon"], "delta": report["delta"],
                "epsilon_cumulative": report["epsilon_cumulative"],
                "delta_cumulative": report["delta_cumulative"]})
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], [check])
    log.info("train: %s, epsilon %.4g at delta %.3g, %.1f s", synth.name, report["epsilon"],
             report["delta"], report["train_seconds"])
    return report


@task(name="generate", cache_policy=NO_CACHE)
def generate_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Sample the synthetic table from the saved model, deterministically for the seed."""
    import time

    from synthgov.synthesizers import load_synthesizer

    ws = Workspace(workspace)
    synth = load_synthesizer(ws.stage_dir("train") / "model")
    rows = params.generate.rows or ws.read_json("ingest", "snapshot.json")["train_rows"]
    started = time.perf_counter()
    fairness = params.generate.fairness
    if fairness.mode == "none":
        synthetic = synth.sample(rows, params.generate.seed)
    elif getattr(synth, "supports_fairness", False):
        synthetic = synth.sample(rows, params.generate.seed, fairness, params.data.positive_label)
    else:
        raise RegistryError(f"synthesizer '{synth.name}' does not support fairness mode "
                            f"'{fairness.mode}'; use dp-autoregressive or set generate.fairness.mode: none")
    seconds = time.perf_counter() - started
    out = ws.stage_dir("generate")
    _write_parquet(synthetic, out / "synthetic.parquet")
    report = {"rows": rows, "seed": params.generate.seed, "seconds": seconds,
              "fairness_mode": fairness.mode, "fairness": fairness.model_dump(),
              "rows_per_second": rows / seconds if seconds else None}
    write_json_atomic(out / "generate.json", report)
    with trk.stage_run(tracking, "generate") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, report)
    log.info("generate: %d rows at %.0f rows/s", rows, report["rows_per_second"] or 0)
    return report


@task(name="validate", cache_policy=NO_CACHE)
def validate_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Fidelity, TSTR against TRTR with intervals, subgroup utility and fairness (validation.json/.html)."""
    from synthgov.reports.validation import validation_html
    from synthgov.validation import validate

    ws = Workspace(workspace)
    train, holdout, synthetic = _candidate_frames(ws)
    report, checks = validate(train, holdout, synthetic, params)
    report["checks"] = [c.model_dump(mode="json") for c in checks]
    out = ws.stage_dir("validate")
    write_json_atomic(out / "validation.json", report)
    page = out / "validation.html"
    page.with_name(".validation.html.tmp").write_text(validation_html(report, train, synthetic, params))
    os.replace(page.with_name(".validation.html.tmp"), page)
    with trk.stage_run(tracking, "validate") as run_id:
        if run_id:
            headline = {"tstr_auc": report["tstr_auc"], "trtr_auc": report["trtr_auc"],
                        "tstr_ratio": report["tstr_ratio"],
                        "tstr_ratio_lower": report["utility"]["gradient_boosting"]["roc_auc"]["ratio"]["lower"],
                        "distinguishability_auc": report["fidelity"]["distinguishability_auc"]["point"]}
            trk.log_metrics(tracking, run_id, headline)
            trk.log_metrics(tracking, tracking.parent_run_id, headline)
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], checks)
            trk.log_json(tracking, run_id, "validation.json", report)
            tracking.client().log_artifact(run_id, str(page))
    log.info("validate: TSTR %.4f, TRTR %.4f", report["tstr_auc"], report["trtr_auc"])
    return report


@task(name="attack", cache_policy=NO_CACHE)
def attack_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Privacy attacks on the candidate: leakage, membership inference, risks (attack.json/.html)."""
    from synthgov.attacks import attack
    from synthgov.reports.attack import attack_html

    ws = Workspace(workspace)
    train, holdout, synthetic = _candidate_frames(ws)
    report, checks, distances = attack(synthetic, train, holdout, params)
    if params.attack.canary_pairs:
        report["canary"], canary = _canary(ws, train, params)
        checks += [canary] if canary else []
    report["checks"] = [c.model_dump(mode="json") for c in checks]
    out = ws.stage_dir("attack")
    write_json_atomic(out / "attack.json", report)
    page = out / "attack.html"
    page.with_name(".attack.html.tmp").write_text(attack_html(report, distances))
    os.replace(page.with_name(".attack.html.tmp"), page)
    with trk.stage_run(tracking, "attack") as run_id:
        if run_id:
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], checks)
            trk.log_json(tracking, run_id, "attack.json", report)
            tracking.client().log_artifact(run_id, str(page))
    for c in checks:
        log.info("attack: %s", c.describe())
    return report


def _canary(ws: Workspace, train: pd.DataFrame, params: Params) -> tuple[dict[str, Any], CheckResult | None]:
    """Run the canary audit when this run trained a DP synthesizer that exposes its likelihood."""
    from synthgov.privacy.canary import canary_audit, canary_check
    from synthgov.synthesizers import get_synthesizer

    cls = get_synthesizer(params.train.synthesizer)
    if not (ws.root / "artifacts" / "train" / "training.json").is_file() or not params.dp or \
            not getattr(cls, "dp", False) or params.train.synthesizer != "dp-autoregressive":
        return {"skipped": "the canary audit needs a DP dp-autoregressive training run (not `evaluate`)"}, None
    log.info("attack: canary audit with %d pairs (two more training runs)", params.attack.canary_pairs)
    report = canary_audit(train, params, cls, pairs=params.attack.canary_pairs, seed=params.attack.seed)
    return report, canary_check(report, params)


@task(name="gate", cache_policy=NO_CACHE)
def gate_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """One verdict per gate, from every stage's check results."""
    from synthgov.release.gate import gate

    ws = Workspace(workspace)
    results: list[CheckResult] = []
    for stage, name in [("audit", "audit.json"), ("train", "training.json"),
                        ("validate", "validation.json"), ("attack", "attack.json")]:
        path = ws.root / "artifacts" / stage / name
        if path.is_file():  # `synthgov evaluate` has no audit and no training
            results += _checks(ws.read_json(stage, name))
    verdict = gate(results)
    write_json_atomic(ws.stage_dir("gate") / "gates.json", verdict)
    with trk.stage_run(tracking, "gate") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, {"promotable": float(verdict["promotable"])})
            trk.log_json(tracking, run_id, "gates.json", verdict)
    for r in results:
        log.info("gate: %s", CheckResult.model_validate(r).describe())
    return verdict


@task(name="import-synthetic", cache_policy=NO_CACHE)
def import_synthetic_stage(workspace: str, params: Params, synthetic_path: str,
                           tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Conform a synthetic table made by any tool into artifacts/generate/ (for `synthgov evaluate`)."""
    from synthgov.ingest.readers import conform, content_hash, read_table

    ws = Workspace(workspace)
    synthetic, type_errors = conform(read_table(ws.path(synthetic_path)), params.schema_, synthetic_path)
    out = ws.stage_dir("generate")
    _write_parquet(synthetic, out / "synthetic.parquet")
    report = {"rows": len(synthetic), "imported_from": synthetic_path, "type_errors": type_errors,
              "content_hash": content_hash(synthetic)}
    write_json_atomic(out / "generate.json", report)
    with trk.stage_run(tracking, "import-synthetic") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, {"rows": len(synthetic)})
            tracking.client().set_tag(tracking.parent_run_id, "synthgov.evaluated_file", synthetic_path)
    return report


CANDIDATE_FILES = [("generate", "synthetic.parquet"), ("audit", "audit.json"), ("audit", "audit.html"),
                   ("train", "training.json"), ("validate", "validation.json"),
                   ("validate", "validation.html"),
                   ("attack", "attack.json"), ("attack", "attack.html"), ("gate", "gates.json")]


@task(name="promote", cache_policy=NO_CACHE)
def promote_stage(workspace: str, params: Params, run_id: str, lineage: dict[str, str],
                  tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Promote the candidate atomically if every blocking gate passed; else quarantine it and fail."""
    ws = Workspace(workspace)
    verdict = ws.read_json("gate", "gates.json")
    files = [ws.stage_dir(stage) / name for stage, name in CANDIDATE_FILES]
    manifest = {"run_id": run_id, "lineage": lineage, "params": params.dump(),
                "failed_gates": verdict["failed"]}
    store = ReleaseStore(ws.root)
    results = [CheckResult.model_validate(r) for r in verdict["results"]]
    with trk.stage_run(tracking, "promote") as stage_run_id:
        if not verdict["promotable"]:
            where = store.quarantine(files, manifest, run_id)
            receipt = {"promoted": False, "path": str(where), "failed": verdict["failed"]}
            write_json_atomic(ws.stage_dir("promote") / "receipt.json", receipt)
            if stage_run_id:
                trk.log_metrics(tracking, tracking.parent_run_id, {"promoted": 0.0})
                tracking.client().set_tag(tracking.parent_run_id, "synthgov.quarantine", str(where))
            raise GateFailedError([r for r in results if r.blocking_failure], results)
        release_id = run_id
        where = store.promote(files, manifest, release_id)
        receipt = {"promoted": True, "path": str(where), "release_id": release_id}
        if stage_run_id:
            client = tracking.client()
            client.log_artifacts(tracking.parent_run_id, str(where), "release")
            receipt["model_version"] = trk.register_release(tracking, release_id, "release")
            trk.log_metrics(tracking, tracking.parent_run_id, {"promoted": 1.0})
            client.set_tag(tracking.parent_run_id, "synthgov.release_id", release_id)
        write_json_atomic(ws.stage_dir("promote") / "receipt.json", receipt)
    log.info("promote: release %s at %s", release_id, where)
    return receipt
