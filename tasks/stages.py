"""Thin Prefect tasks over the pure stage cores, ingest to attack: load inputs, call, save, log.

The same functions (their `.fn`) are what `synthgov stage NAME` runs for dvc.yaml, so `dvc repro`
and the Prefect flow execute identical code. Each task reads and writes only its run's folder
(runs/<run_id>/<stage>/, or artifacts/<stage>/ for dvc repro), every file atomically; MLflow
logging happens only when a Tracking is given. The gate and promote tasks are in tasks/release.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from synthgov.atomic import write_json_atomic, write_parquet_atomic, write_text_atomic
from synthgov.checks import CheckResult
from synthgov.errors import AuditFailedError, RegistryError, SourceError, retry_transient
from synthgov.isolation import run_isolated
from synthgov.params import Params
from synthgov.release import tracking as trk
from synthgov.release.promote import ReleaseStore
from synthgov.workspace import STAGES, Workspace, begin_stage  # noqa: F401  (STAGES re-exported)

log = logging.getLogger("synthgov")


def call_stage(name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Stage `name`'s function, run in this process (what an isolated stage's child calls)."""
    return globals()[f"{name}_stage"].fn(*args, **kwargs)


def _ws(workspace: str, tracking: trk.Tracking | None) -> Workspace:
    return Workspace(workspace, tracking.run_id if tracking else None)


def candidate_frames(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The training snapshot, the real holdout and the synthetic candidate."""
    return (pd.read_parquet(ws.file("ingest", "train.parquet")), pd.read_parquet(ws.file("ingest", "holdout.parquet")),
            pd.read_parquet(ws.file("generate", "synthetic.parquet")))


# I/O tasks retry transient errors with backoff (synthgov.errors.transient); a stage that spends
# privacy budget never retries.
IO_RETRIES = {"retries": 2, "retry_delay_seconds": [2, 15], "retry_condition_fn": retry_transient}


@task(name="ingest", cache_policy=NO_CACHE, **IO_RETRIES)
def ingest_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None,
                 isolate: bool = False) -> dict[str, Any]:
    """Snapshot the source and the holdout into the run's ingest/, content-hashed."""
    if isolate:  # a large table: in a child process of its own (synthgov.isolation)
        return run_isolated("ingest", call_stage, "ingest", workspace, params, tracking)
    from synthgov.ingest import ingest
    from synthgov.ingest.readers import read_source
    from synthgov.privacy.randomness import split_key

    ws, d = _ws(workspace, tracking), params.data
    begin_stage(ws, "ingest")
    source = read_source(ws.path(d.source), d.format, header=d.header, na_values=d.na_values)
    holdout = read_source(ws.path(d.holdout), d.format, header=d.header, na_values=d.na_values) if d.holdout else None
    train, held, manifest = ingest(source, holdout, params, source_name=str(ws.path(d.source)),
                                   holdout_name=str(ws.path(d.holdout)) if d.holdout else "holdout",
                                   split_key=split_key(params.privacy.test_mode, d.split_seed, ws.root))
    out = ws.stage_dir("ingest")
    write_parquet_atomic(train, out / "train.parquet")
    write_parquet_atomic(held, out / "holdout.parquet")
    manifest["source"] = d.source
    write_json_atomic(out / "snapshot.json", manifest)
    with trk.stage_run(tracking, "ingest") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, {"train_rows": manifest["train_rows"],
                                               "holdout_rows": manifest["holdout_rows"]})
            trk.log_datasets(tracking, [run_id, tracking.parent_run_id], manifest, d.source, d.holdout)
            trk.log_json(tracking, run_id, "snapshot.json", manifest)
    log.info("ingest: %d training rows, %d holdout rows, source %s", manifest["train_rows"],
             manifest["holdout_rows"], manifest["source_hash"][:12])
    if manifest["undeclared_columns_dropped"]:
        log.warning("ingest: undeclared column(s) %s dropped, never trained; identifier-like: %s",
                    manifest["undeclared_columns_dropped"], [f["column"] for f in manifest["identifiers"]])
    return manifest


@task(name="audit", cache_policy=NO_CACHE)
def audit_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None,
                isolate: bool = False) -> dict[str, Any]:
    """Contract, bias, proxies, identifiers, label quality and drift of the training snapshot
    (audit.json/.html); blocking findings stop the run here, before any budget is spent."""
    if isolate:  # a large table: in a child process of its own (synthgov.isolation)
        return run_isolated("audit", call_stage, "audit", workspace, params, tracking)
    from synthgov.audit import audit
    from synthgov.audit.contract import load_contract
    from synthgov.reports.audit import audit_html

    ws = _ws(workspace, tracking)
    begin_stage(ws, "audit")
    train = pd.read_parquet(ws.file("ingest", "train.parquet"))
    snapshot = ws.read_json("ingest", "snapshot.json")
    last = ReleaseStore(ws.root).current_review_json("audit.json") or {}
    report, checks = audit(train, params, snapshot["type_errors"]["train"], contract=load_contract(ws.root, params),
                           identifiers=snapshot.get("identifiers", []), last_profile=last.get("source_profile"))
    report["checks"] = [c.model_dump(mode="json") for c in checks]
    out = ws.stage_dir("audit")
    write_json_atomic(out / "audit.json", report)
    write_text_atomic(out / "audit.html", audit_html(report, params))
    with trk.stage_run(tracking, "audit") as run_id:
        if run_id:
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], checks)
            trk.log_json(tracking, run_id, "audit.json", report)
            tracking.client().log_artifact(run_id, str(out / "audit.html"))
    for c in checks:
        log.info("audit: %s", c.describe())
    if report["drift"].get("drifted"):
        log.warning("audit: drift against the last release's source in %s", report["drift"]["drifted"])
    failed = [c for c in checks if c.blocking_failure]
    if failed:
        raise AuditFailedError(failed, checks)
    return report


def planned_spend(params: Params, canary: bool = False) -> tuple[float, float]:
    """The (epsilon, delta) a run reserves before training: its declared budget (delta at most the
    declared one or 1e-5), three times over when the canary audit trains twice more."""
    if not params.dp:
        return math.inf, 0.0
    times = 3 if canary else 1
    return times * params.privacy.epsilon, times * (params.privacy.delta or 1e-5)


def training_fingerprint(params: Params) -> str:
    """What a trained model depends on besides its rows: the schema, the column roles, the privacy
    and training params (the budget caps excluded)."""
    d = params.dump()
    kept = {"schema": d["schema"], "train": d["train"],
            "privacy": {k: v for k, v in d["privacy"].items() if k not in ("budget_epsilon", "budget_delta")},
            "data": {k: d["data"][k] for k in ("target", "positive_label", "exclude")}}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def reusable_release(ws: Workspace, params: Params, snapshot: dict[str, Any]) -> str | None:
    """The current release, if its model was trained on exactly these training and holdout rows
    with the same params (operations.retrain: on-change), so sampling it again spends nothing."""
    store = ReleaseStore(ws.root)
    current = store.current()
    if current is None or params.operations.retrain != "on-change":
        return None
    manifest = store.review_json(current, "manifest.json") or {}
    before = store.review_json(current, "snapshot.json") or {}
    same_rows = all(before.get(k) == snapshot[k] for k in ("source_hash", "train_hash", "holdout_hash"))
    if same_rows and manifest.get("training_fingerprint") == training_fingerprint(params) and \
            (store.review / current / "model").is_dir():
        return current
    return None


def _reuse(ws: Workspace, params: Params, release: str, tracking: trk.Tracking | None) -> dict[str, Any]:
    """Take the model of `release` instead of training: no mechanism reads the rows, no budget."""
    from synthgov.privacy.ledger import PrivacyLedger

    review, out = ReleaseStore(ws.root).review / release, ws.stage_dir("train")
    shutil.copytree(review / "model", out / "model", dirs_exist_ok=True)
    if (review / "trained_rows.parquet").is_file():
        shutil.copy2(review / "trained_rows.parquet", out / "trained_rows.parquet")
    report = json.loads((review / "training.json").read_text())
    spent = PrivacyLedger(ws.root).spent(ws.read_json("ingest", "snapshot.json")["source_hash"])
    report.update(reused_from=release, epsilon_this_run=0.0, delta_this_run=0.0, epsilon_cumulative=spent[0],
                  delta_cumulative=spent[1], train_seconds=0.0)
    write_json_atomic(out / "training.json", report)
    with trk.stage_run(tracking, "train") as run_id:
        if run_id:
            client = tracking.client()
            trk.log_metrics(tracking, tracking.parent_run_id, {"epsilon": 0.0, "delta": 0.0,
                                                               "epsilon_cumulative": spent[0]})
            client.set_tag(tracking.parent_run_id, "synthgov.model_reused_from", release)
            client.set_tag(tracking.parent_run_id, "synthgov.model_epsilon", str(report["epsilon"]))
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], [CheckResult.model_validate(c)
                                                                        for c in report.get("checks", [])])
    log.info("train: unchanged source and params: the model of release %s is sampled again "
             "(post-processing: epsilon 0 for this run; the model's own epsilon is %.4g)", release, report["epsilon"])
    return report


@task(name="train", cache_policy=NO_CACHE)
def train_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None,
                reuse_model: bool = False, isolate: bool = False) -> dict[str, Any]:
    """Reserve the budget, fit the chosen synthesizer (DP-SGD for DP ones), commit the spend, and
    save the model with its training report and the positions of the rows it trained on. With
    `reuse_model` (the nightly), the current release's model is taken instead when it was trained
    on these very rows with these params: no new training, no new spend."""
    from synthgov.privacy.ledger import PrivacyLedger
    from synthgov.privacy.randomness import dp_randomness
    from synthgov.release.gate import privacy_check
    from synthgov.synthesizers import get_synthesizer
    from synthgov.tasks.run import new_run_id

    if isolate:  # a large table: in a child process of its own (synthgov.isolation)
        return run_isolated("train", call_stage, "train", workspace, params, tracking, reuse_model=reuse_model)
    ws = _ws(workspace, tracking)
    begin_stage(ws, "train")
    pp, tp = params.privacy, params.train
    train = pd.read_parquet(ws.file("ingest", "train.parquet"))
    snapshot = ws.read_json("ingest", "snapshot.json")
    release = reusable_release(ws, params, snapshot) if reuse_model else None
    if release is not None:
        return _reuse(ws, params, release, tracking)
    synth = get_synthesizer(tp.synthesizer)()
    ledger, run = PrivacyLedger(ws.root), ws.run_id or new_run_id()
    eps, delta = planned_spend(params)
    ledger.reserve(snapshot["source_hash"], run, eps, delta, budget_epsilon=pp.budget_epsilon,
                   budget_delta=pp.budget_delta, synthesizer=synth.name)
    with trk.stage_run(tracking, "train") as run_id:
        try:
            report = synth.fit(train, params, dp_randomness(pp.test_mode, tp.seed))
        except BaseException:
            if not getattr(synth, "mechanisms_started", True):
                ledger.cancel(run)  # refused before any mechanism read the rows: nothing was spent
            raise  # otherwise the reservation stays counted (settled when the run closes)
        cumulative = ledger.commit(run, report["epsilon"], report["delta"])
        report.update(epsilon_cumulative=cumulative[0], delta_cumulative=cumulative[1],
                      budget_epsilon=pp.budget_epsilon, budget_delta=pp.budget_delta, composition="sequential")
        check = privacy_check(report, params)
        report["checks"] = [check.model_dump(mode="json")]
        out = ws.stage_dir("train")
        synth.save(out / "model")
        if synth.trained_rows is not None:
            write_parquet_atomic(pd.DataFrame({"row": synth.trained_rows}), out / "trained_rows.parquet")
        write_json_atomic(out / "training.json", report)
        if run_id:
            trk.log_metrics(tracking, run_id, {k: v for k, v in report.items() if isinstance(v, (int, float))})
            trk.log_metrics(tracking, tracking.parent_run_id, {
                "epsilon": report["epsilon"], "delta": report["delta"],
                "epsilon_cumulative": report["epsilon_cumulative"], "delta_cumulative": report["delta_cumulative"]})
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], [check])
    log.info("train: %s, epsilon %.4g at delta %.3g (%s neighbours), %.1f s%s", synth.name, report["epsilon"],
             report["delta"], report["neighbouring"], report["train_seconds"],
             "; TEST MODE: seeded DP randomness, not private" if report.get("test_mode") else "")
    return report


@task(name="generate", cache_policy=NO_CACHE)
def generate_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None,
                   isolate: bool = False) -> dict[str, Any]:
    """Sample the synthetic table from the saved model (post-processing: no budget). As many rows
    as generate.rows, or as the training released (a DP count under add-remove neighbours)."""
    if isolate:  # a large table: in a child process of its own (synthgov.isolation)
        return run_isolated("generate", call_stage, "generate", workspace, params, tracking)
    from synthgov.privacy.randomness import fresh_seed
    from synthgov.synthesizers import load_synthesizer

    ws = _ws(workspace, tracking)
    begin_stage(ws, "generate")
    synth = load_synthesizer(ws.file("train", "model"))
    training = ws.read_json("train", "training.json")
    rows = params.generate.rows or training.get("rows_released") or training["rows_trained"]
    seed = fresh_seed(params.privacy.test_mode, params.generate.seed)
    started = time.perf_counter()
    fairness = params.generate.fairness
    if fairness.mode == "none":
        synthetic = synth.sample(rows, seed)
    elif getattr(synth, "supports_fairness", False):
        synthetic = synth.sample(rows, seed, fairness, params.data.positive_label)
    else:
        raise RegistryError(f"synthesizer '{synth.name}' does not support fairness mode "
                            f"'{fairness.mode}'; use dp-autoregressive or set generate.fairness.mode: none")
    seconds = time.perf_counter() - started
    out = ws.stage_dir("generate")
    write_parquet_atomic(synthetic, out / "synthetic.parquet")
    report = {"rows": rows, "seed": seed if params.privacy.test_mode else "fresh, secret", "seconds": seconds,
              "fairness_mode": fairness.mode, "fairness": fairness.model_dump(),
              "rows_per_second": rows / seconds if seconds else None}
    write_json_atomic(out / "generate.json", report)
    with trk.stage_run(tracking, "generate") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, {k: v for k, v in report.items() if k != "seed"})
    log.info("generate: %d rows at %.0f rows/s", rows, report["rows_per_second"] or 0)
    return report


@task(name="validate", cache_policy=NO_CACHE)
def validate_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None,
                   isolate: bool = False) -> dict[str, Any]:
    """Fidelity, TSTR against TRTR with intervals, subgroup utility and fairness (validation.json/.html)."""
    if isolate:  # a large table: in a child process of its own (synthgov.isolation)
        return run_isolated("validate", call_stage, "validate", workspace, params, tracking)
    from synthgov.reports.validation import validation_html
    from synthgov.validation import validate

    ws = _ws(workspace, tracking)
    begin_stage(ws, "validate")
    train, holdout, synthetic = candidate_frames(ws)
    report, checks = validate(train, holdout, synthetic, params, budget=_budget_of(_training(ws)))
    report["checks"] = [c.model_dump(mode="json") for c in checks]
    out = ws.stage_dir("validate")
    write_json_atomic(out / "validation.json", report)
    write_text_atomic(out / "validation.html", validation_html(report, train, synthetic, params))
    with trk.stage_run(tracking, "validate") as run_id:
        if run_id:
            headline = {"tstr_auc": report["tstr_auc"], "trtr_auc": report["trtr_auc"],
                        "tstr_ratio": report["tstr_ratio"],
                        "tstr_ratio_lower": report["utility"]["gradient_boosting"]["roc_auc"]["ratio"]["lower"],
                        "distinguishability_auc": report["fidelity"]["distinguishability_auc"]["point"]}
            if "marginal_floor" in report["fidelity"]:  # what the release's budget allows fidelity_js
                headline["fidelity_js_floor"] = report["fidelity"]["marginal_floor"]["upper"]
            trk.log_metrics(tracking, run_id, headline)
            trk.log_metrics(tracking, tracking.parent_run_id, headline)
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], checks)
            trk.log_json(tracking, run_id, "validation.json", report)
            tracking.client().log_artifact(run_id, str(out / "validation.html"))
    log.info("validate: TSTR %.4f, TRTR %.4f", report["tstr_auc"], report["trtr_auc"])
    return report


def trained_members(ws: Workspace, train: pd.DataFrame) -> pd.DataFrame:
    """The rows the model was trained on (members for the attacks): all of the snapshot, or the
    subset the training recorded (rows the schema could not encode, or a train.max_rows sample)."""
    if ws.has("train", "trained_rows.parquet"):
        rows = pd.read_parquet(ws.file("train", "trained_rows.parquet"))["row"].to_numpy()
        return train.iloc[rows].reset_index(drop=True)
    return train


@task(name="attack", cache_policy=NO_CACHE)
def attack_stage(workspace: str, params: Params, tracking: trk.Tracking | None = None,
                 isolate: bool = False) -> dict[str, Any]:
    """Privacy attacks on the candidate: leakage, membership inference, risks (attack.json/.html)."""
    if isolate:  # a large table: in a child process of its own (synthgov.isolation)
        return run_isolated("attack", call_stage, "attack", workspace, params, tracking)
    from synthgov.attacks import attack
    from synthgov.reports.attack import attack_html

    ws = _ws(workspace, tracking)
    begin_stage(ws, "attack")
    train, holdout, synthetic = candidate_frames(ws)
    members = trained_members(ws, train)
    report, checks, distances = attack(synthetic, members, holdout, params, guarantee=_guarantee(ws))
    if params.attack.canary_pairs:
        report["canary"], canary = _canary(ws, members, params)
        checks += [canary] if canary else []
    report["checks"] = [c.model_dump(mode="json") for c in checks]
    out = ws.stage_dir("attack")
    write_json_atomic(out / "attack.json", report)
    write_text_atomic(out / "attack.html", attack_html(report, distances))
    with trk.stage_run(tracking, "attack") as run_id:
        if run_id:
            trk.log_checks(tracking, [run_id, tracking.parent_run_id], checks)
            trk.log_json(tracking, run_id, "attack.json", report)
            tracking.client().log_artifact(run_id, str(out / "attack.html"))
    for c in checks:
        log.info("attack: %s", c.describe())
    return report


def _training(ws: Workspace) -> dict[str, Any]:
    """This run's training report ({} for a table made elsewhere)."""
    return ws.read_json("train", "training.json") if ws.has("train", "training.json") else {}


def _budget_of(training: dict[str, Any]) -> tuple[float, float] | None:
    """The (epsilon, delta) a training report says was spent, in test mode too (the fidelity floor
    needs the budget, not secret randomness); None without DP, or for a table made elsewhere."""
    epsilon, delta = training.get("epsilon"), training.get("delta")
    if not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) or not isinstance(delta, (int, float)):
        return None
    return float(epsilon), float(delta)


def _guarantee(ws: Workspace) -> tuple[float, float] | None:
    """The (epsilon, delta) the candidate carries when it holds against an adversary with our code
    and params: a DP training with secret randomness (never in test mode, never without DP)."""
    training = _training(ws)
    return None if training.get("test_mode", True) else _budget_of(training)


def _canary(ws: Workspace, train: pd.DataFrame, params: Params) -> tuple[dict[str, Any], CheckResult | None]:
    """Run the canary audit when this run trained a DP dp-autoregressive model: two more trainings
    on the private rows, reserved in and charged to the ledger like any other."""
    from synthgov.privacy.canary import canary_audit, canary_check
    from synthgov.privacy.ledger import PrivacyLedger
    from synthgov.privacy.randomness import dp_randomness
    from synthgov.synthesizers import get_synthesizer
    from synthgov.tasks.run import new_run_id

    cls = get_synthesizer(params.train.synthesizer)
    if not ws.has("train", "training.json") or not params.dp or params.train.synthesizer != "dp-autoregressive":
        return {"skipped": "the canary audit needs a DP dp-autoregressive training run (not `evaluate`)"}, None
    pp, source = params.privacy, ws.read_json("ingest", "snapshot.json")["source_hash"]
    ledger, run = PrivacyLedger(ws.root), ws.run_id or new_run_id()
    eps, delta = planned_spend(params)
    for purpose in ("canary-reference", "canary-audited"):
        ledger.reserve(source, run, eps, delta, budget_epsilon=pp.budget_epsilon, budget_delta=pp.budget_delta,
                       synthesizer=cls.name, purpose=purpose)
    log.info("attack: canary audit with %d pairs (two more training runs)", params.attack.canary_pairs)
    report = canary_audit(train, params, cls, pairs=params.attack.canary_pairs, seed=params.attack.seed,
                          randomness=lambda: dp_randomness(pp.test_mode, params.train.seed))
    for purpose, spent in zip(("canary-reference", "canary-audited"), report["trainings"]):
        ledger.commit(run, spent["epsilon"], spent["delta"], purpose=purpose)
    return report, canary_check(report, params)


@task(name="import-synthetic", cache_policy=NO_CACHE)
def import_synthetic_stage(workspace: str, params: Params, synthetic_path: str,
                           tracking: trk.Tracking | None = None) -> dict[str, Any]:
    """Conform a synthetic table made by any tool into the run's generate/ (for `synthgov evaluate`)."""
    from synthgov.ingest.readers import conform, content_hash, read_table

    ws = _ws(workspace, tracking)
    begin_stage(ws, "import-synthetic")
    synthetic, type_errors = conform(read_table(ws.path(synthetic_path)), params.schema_, synthetic_path)
    if len(synthetic) == 0:
        raise SourceError(f"{synthetic_path}: no data rows (only a header?); pass a synthetic file with rows")
    out = ws.stage_dir("generate")
    write_parquet_atomic(synthetic, out / "synthetic.parquet")
    report = {"rows": len(synthetic), "imported_from": synthetic_path, "type_errors": type_errors,
              "content_hash": content_hash(synthetic)}
    write_json_atomic(out / "generate.json", report)
    with trk.stage_run(tracking, "import-synthetic") as run_id:
        if run_id:
            trk.log_metrics(tracking, run_id, {"rows": len(synthetic)})
            tracking.client().set_tag(tracking.parent_run_id, "synthgov.evaluated_file", synthetic_path)
    return report
