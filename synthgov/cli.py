"""The `synthgov` command line.

    synthgov run [--source PATH --target COL --protected A,B --epsilon E --rows N
                  --params-dir DIR --workspace DIR --summary-json PATH]
    synthgov evaluate --train REAL --holdout REAL_HOLDOUT --synthetic SYN --target COL
                      --protected A,B [--summary-json PATH]
                                 validate, attack and gate a synthetic file from any tool
    synthgov audit [--source PATH --target COL --protected A,B --out DIR]
                                 the pre-generation audit alone (audit.json, audit.html)
    synthgov audit --propose-contract OUT.json --source PATH
                                 draft a schema for review (labels and rounded bounds only)
    synthgov audit --write-contract
                                 regenerate checks/source_contract.json from the params
    synthgov serve [--workspace DIR --api-url URL --once --until SECONDS]
                                 operate: Prefect server, deployments, worker, new-source watcher
    synthgov releases | retire RELEASE_ID --reason TEXT | lineage RELEASE_ID
                                 review and lifecycle of releases (synthgov.release.commands)
    synthgov approve RUN_ID --reviewer NAME --note TEXT [--reject]
                                 decide on a run waiting for approval (release.require_approval)
    synthgov init DIR --source FILE --target COL --protected A,B [--holdout FILE --positive-label L
                  --no-header --na-values LIST --epsilon E]
                                 a workspace for your own table: params, a drafted schema, git, DVC
    synthgov stage NAME          one dvc.yaml stage (what `dvc repro` calls)
    synthgov synthesizers        the registered synthesizer names

Exit codes: 0 promoted (evaluate: every gate passed; audit: no blocking finding; stage: done),
1 a gate failed (nothing promoted), 2 bad input or a refusal (budget exhausted, workspace busy),
3 an internal error (a bug: the traceback is in the run's error.log, or shown with --verbose),
130 interrupted. Whatever the code, a run writes its summary (--summary-json and the run folder).
"""

from __future__ import annotations

import argparse
import json
import math
import time
import logging
import sys
from pathlib import Path
from typing import Any

from synthgov.errors import ParamsError, SourceError


log = logging.getLogger("synthgov")


def _role_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Overrides of the column roles: --target, --positive-label, --protected."""
    out: dict[str, Any] = {}
    if args.target:
        out["data.target"] = args.target
    if args.positive_label:
        out["data.positive_label"] = _labels(args.positive_label)
    if args.protected:
        protected = [c.strip() for c in args.protected.split(",") if c.strip()]
        out["data.protected"] = protected
        # the declared reference shares and intersections follow the protected attributes given
        params = _declared_data(args)
        if params is not None:
            out["data.reference_population"] = {a: v for a, v in params.get("reference_population", {}).items()
                                                if a in protected}
            out["data.intersections"] = [c for c in params.get("intersections", []) if set(c) <= set(protected)]
            out["data.protected_bins"] = {a: v for a, v in params.get("protected_bins", {}).items() if a in protected}
    return out


def _labels(text: str) -> str | list[str]:
    """--positive-label L or L,VARIANT,...: the label, then how some files write it ('>50K.')."""
    labels = [v.strip() for v in text.split(",") if v.strip()]
    return labels[0] if len(labels) == 1 else labels


def _declared_data(args: argparse.Namespace) -> dict[str, Any] | None:
    """params/data.yaml as written (None if it cannot be read: the loader will say why)."""
    import yaml

    try:
        return yaml.safe_load((Path(args.params_dir) / "data.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.source:
        out["data.source"] = str(Path(args.source).resolve())
        out["data.format"] = "auto"
        out["data.holdout"] = str(Path(args.holdout).resolve()) if args.holdout else None
    elif args.holdout:
        out["data.holdout"] = str(Path(args.holdout).resolve())
    out.update(_role_overrides(args))
    if args.epsilon is not None:
        if not math.isfinite(args.epsilon) or args.epsilon <= 0:
            raise ParamsError(f"--epsilon {args.epsilon}: give a finite epsilon > 0 (e.g. 1.0); an infinite "
                              "epsilon trains without differential privacy, and such a release is never promoted")
        out["privacy.epsilon"] = args.epsilon
    if args.rows is not None:
        out["generate.rows"] = args.rows
    return out


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--verbose", action="store_true", help="show the traceback of an error")
    p.add_argument("--params-dir", help="folder of the params YAML files (default: <workspace>/params)")
    p.add_argument("--workspace", default=".", help="folder for artifacts/, releases/, mlflow.db (default: .)")


def _scale(p: argparse.ArgumentParser) -> None:
    """Where a run keeps its records and runs its heavy checks (README: "Beyond one machine")."""
    p.add_argument("--tracking-uri", help="MLflow tracking store, e.g. postgresql://user@host:5432/mlflow (the "
                                          "password in PGPASSWORD or ~/.pgpass); default: MLFLOW_TRACKING_URI, "
                                          "else sqlite:///<workspace>/mlflow.db")
    p.add_argument("--artifact-root", help="where MLflow keeps this workspace's artifacts when its experiment is "
                                           "created (a folder or a URI); default: SYNTHGOV_ARTIFACT_ROOT, else "
                                           "<workspace>/mlartifacts")
    p.add_argument("--task-runner", choices=["default", "dask"], default="default",
                   help="dask: validate and attack at the same time, their parts fanned out on Dask "
                        "(a local cluster, one process per core, unless --dask-address)")
    p.add_argument("--dask-address", help="an existing Dask scheduler (tcp://host:8786) for --task-runner dask")


def _runner(flow, args: argparse.Namespace):
    from synthgov.parallel import task_runner

    runner = task_runner(args.task_runner, args.dask_address)
    return flow if runner is None else flow.with_options(task_runner=runner)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synthgov", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the governed pipeline end to end")
    _common(run)
    run.add_argument("--source", help="CSV or Parquet source file (overrides data.source)")
    run.add_argument("--holdout", help="CSV or Parquet real holdout (default: split off the source)")
    run.add_argument("--target", help="target column (overrides data.target)")
    run.add_argument("--positive-label", help="positive class of the target")
    run.add_argument("--protected", help="comma-separated protected columns")
    run.add_argument("--epsilon", type=float, help="privacy budget of this run")
    run.add_argument("--rows", type=int, help="synthetic rows to generate")
    _scale(run)
    run.add_argument("--summary-json", help="write the run summary JSON here")
    run.add_argument("--resume", metavar="RUN_ID",
                     help="continue a run that failed or was killed, keeping the stages it completed whose "
                          "inputs are unchanged (a completed training is not repeated: no new privacy spend)")
    run.add_argument("--regenerate", action="store_true",
                     help="what the nightly does: rerun the current release's source, and sample its model "
                          "again (no new privacy spend) when the source and params are unchanged")
    ev = sub.add_parser("evaluate", help="validate, attack and gate a synthetic file from any tool")
    _common(ev)
    ev.add_argument("--train", required=True, help="the real rows the synthetic file was made from")
    ev.add_argument("--holdout", required=True, help="real rows that tool never saw")
    ev.add_argument("--synthetic", required=True, help="the synthetic CSV or Parquet file")
    ev.add_argument("--target", help="target column (overrides data.target)")
    ev.add_argument("--positive-label", help="positive class of the target")
    ev.add_argument("--protected", help="comma-separated protected columns")
    _scale(ev)
    ev.add_argument("--summary-json", help="write the summary JSON here")
    au = sub.add_parser("audit", help="audit a source alone, or draft / regenerate its data contract")
    _common(au)
    au.add_argument("--source", help="CSV or Parquet source file (default: data.source of the params)")
    au.add_argument("--target", help="target column (overrides data.target)")
    au.add_argument("--positive-label", help="positive class of the target")
    au.add_argument("--protected", help="comma-separated protected columns")
    au.add_argument("--out", help="folder for audit.json and audit.html (default: <workspace>/audit-report)")
    au.add_argument("--summary-json", help="write the findings (name, score, verdict) here")
    au.add_argument("--propose-contract", metavar="OUT_JSON",
                    help="draft a schema and contract from --source for a person to review, and stop")
    au.add_argument("--write-contract", action="store_true",
                    help="regenerate checks/source_contract.json (beside the params folder) and stop")
    serve = sub.add_parser("serve", help="operate the workspace: Prefect server, deployments, worker, new-source watcher")
    _common(serve)
    serve.add_argument("--api-url", help="an existing Prefect server (default: PREFECT_API_URL, else start one)")
    serve.add_argument("--port", type=int, help="port of the Prefect server started here (default: a free one)")
    serve.add_argument("--pool", help="work pool name (default: prefect.yaml's)")
    serve.add_argument("--once", action="store_true",
                       help="handle the files in incoming/ now, wait for the runs they trigger, then stop")
    serve.add_argument("--until", type=float, metavar="SECONDS", help="stop after this many seconds")
    stage = sub.add_parser("stage", help="run one stage, as dvc.yaml does")
    _common(stage)
    stage.add_argument("name", choices=["ingest", "audit", "train", "generate", "validate",
                                        "attack", "gate", "promote"])
    ini = sub.add_parser("init", help="create a workspace for your own table (params, drafted schema, git, DVC)")
    ini.add_argument("dir", help="the workspace folder to create")
    ini.add_argument("--source", required=True, help="the private source table (CSV or Parquet)")
    ini.add_argument("--target", required=True, help="the target column")
    ini.add_argument("--protected", required=True, help="comma-separated protected columns")
    ini.add_argument("--holdout", help="a real holdout file the generator never sees (default: split off)")
    ini.add_argument("--positive-label", help="the target's positive class, then any variants (L or L,L.,...); "
                                              "needed unless the target is a 0/1 code")
    ini.add_argument("--header", action=argparse.BooleanOptionalAction, default=True,
                     help="whether the CSV's first line names the columns (--no-header: columns c0, c1, ...)")
    ini.add_argument("--na-values", default=",?,NA",
                     help="comma-separated cells read as missing (default: empty, '?', 'NA')")
    ini.add_argument("--epsilon", type=float, default=1.0, help="privacy budget of each run (default 1.0)")
    ini.add_argument("--schema-epsilon", type=float, default=0.2,
                     help="epsilon spent on the DP bounds of the numeric columns, counted in every release")
    ini.add_argument("--verbose", action="store_true", help="show the traceback of an error")
    sub.add_parser("synthesizers", help="list the registered synthesizers")
    from synthgov.release.commands import add_parsers

    add_parsers(sub, _common)
    return parser


def _setup_logging(verbose: bool) -> None:
    import prefect  # noqa: F401  (Prefect configures its loggers on import: ours must come after)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("synthgov")
    if not any(getattr(h, "_synthgov", False) for h in root.handlers):
        handler._synthgov = True
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    # Prefect logs every failed task and flow with a traceback; the CLI reports the error once,
    # in one line (the traceback with --verbose). A filter, because Prefect resets its loggers'
    # levels when it starts its temporary server.
    for name in ("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine"):
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _QuietFailures)]:
            logger.removeFilter(old)
        if not verbose:
            logger.addFilter(_QuietFailures())


class _QuietFailures(logging.Filter):
    """Drops Prefect's error records (a failed task or flow, with its traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


def _report_error(exc: BaseException, verbose: bool, args: argparse.Namespace | None = None,
                  started: float = 0.0) -> int:
    """Print one line for an error (the traceback too with --verbose), write a summary if the
    command was asked for one and no run wrote it (an error before the run started); return the
    exit code."""
    from synthgov.errors import error_message, outcome_of

    outcome, code = outcome_of(exc)
    summary = getattr(args, "summary_json", None)
    if summary and (not Path(summary).is_file() or Path(summary).stat().st_mtime < started):
        from synthgov.atomic import write_json_atomic

        try:
            write_json_atomic(Path(summary), {"outcome": outcome, "exit_code": code, "promoted": False,
                                              "gates_passed": False, "error": error_message(exc),
                                              "error_stage": "before the run started", "run_id": None})
        except OSError:
            pass  # the error itself may be an unwritable place
    if verbose:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    prefix = {"gate failed": "NOT PROMOTED", "not approved": "NOT PROMOTED", "bad input": "error", "refused": "refused", "storage": "error",
              "internal error": "error", "interrupted": "interrupted"}[outcome]
    print(f"{prefix}: {error_message(exc)}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    from synthgov.flows.pipeline import pipeline
    from synthgov.params import load_params

    overrides = _overrides(args)
    params = load_params(args.params_dir, overrides)
    workspace = Path(args.workspace).resolve()
    own_params = Path(args.params_dir).resolve() == workspace / "params"
    summary = _runner(pipeline, args)(
        params=params, workspace=str(workspace), tracking_uri=args.tracking_uri, artifact_root=args.artifact_root,
        summary_json=args.summary_json, commit_dvc=own_params and not overrides, regenerate=args.regenerate,
        resume=args.resume)
    print(json.dumps({k: summary[k] for k in ("run_id", "promoted", "release_id", "epsilon", "delta",
                                              "neighbouring", "tstr_auc", "trtr_auc", "synthetic_path")}, indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from synthgov.flows.evaluate import evaluate
    from synthgov.params import load_params

    overrides = {"data.source": str(Path(args.train).resolve()), "data.format": "auto",
                 "data.holdout": str(Path(args.holdout).resolve()), **_role_overrides(args)}
    params = load_params(args.params_dir, overrides)
    summary = _runner(evaluate, args)(
        params=params, synthetic_path=str(Path(args.synthetic).resolve()), workspace=str(Path(args.workspace).resolve()),
        tracking_uri=args.tracking_uri, artifact_root=args.artifact_root, summary_json=args.summary_json)
    print(json.dumps({k: summary[k] for k in ("run_id", "gates_passed", "tstr_auc", "trtr_auc")}, indent=2))
    return 0


def _init(args: argparse.Namespace) -> int:
    from synthgov.init import init

    done = init(Path(args.dir), source=Path(args.source), target=args.target,
                protected=[c.strip() for c in args.protected.split(",") if c.strip()],
                holdout=Path(args.holdout) if args.holdout else None,
                positive_label=[v.strip() for v in args.positive_label.split(",")] if args.positive_label else None,
                header=args.header, na_values=args.na_values.split(","), epsilon=args.epsilon,
                schema_epsilon=args.schema_epsilon)
    print(f"created the workspace {done['workspace']} ({done['rows']} rows, {done['columns']} columns)")
    print(f"target {done['target']!r}, positive label {done['positive_label']!r}; "
          f"kept {len(done['kept'])} column(s); DP schema bounds epsilon {done['schema_epsilon']:g}")
    for col, why in done["excluded"].items():
        print(f"  excluded {col}: {why}")
    print("review params/schema.yaml (a note per column):")
    for col, note in done["review"].items():
        print(f"  {col}: {note}")
    print(f"then: cd {args.dir} && synthgov run")
    return 0


def _audit_bare(args: argparse.Namespace) -> int:
    """`synthgov audit --source F --target T --protected A` with no params: audit against a schema
    drafted in a temporary folder (what `synthgov init` would write), then forget it."""
    import shutil
    import tempfile

    from synthgov.audit.contract import write_contract
    from synthgov.ingest.readers import read_table
    from synthgov.init import draft_params
    from synthgov.params import load_params

    if not args.target or not args.protected:
        raise ParamsError(f"{args.params_dir}: no params here; to audit a bare table pass --target COL and "
                          "--protected A[,B...] (or create a workspace: synthgov init)")
    tmp = Path(tempfile.mkdtemp(prefix="synthgov-audit-"))
    try:
        df = read_table(args.source)
        draft = draft_params(tmp / "params", df, source=args.source, data_source=str(Path(args.source).resolve()),
                             data_holdout=None, target=args.target,
                             protected=[c.strip() for c in args.protected.split(",") if c.strip()],
                             positive_label=[v.strip() for v in args.positive_label.split(",")] if args.positive_label else None)
        write_contract(tmp, load_params(tmp / "params"))
        for col, why in sorted(draft.exclude.items()):
            print(f"excluded from any training: {col} ({why}); synthgov init writes it to data.exclude")
        args.params_dir, args.target, args.protected, args.positive_label = str(tmp / "params"), None, None, None
        return _audit(args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _audit(args: argparse.Namespace) -> int:
    from synthgov.audit import audit
    from synthgov.audit.contract import load_contract, propose_contract, write_contract
    from synthgov.ingest.readers import conform, read_source, read_table
    from synthgov.audit.identifiers import detect_identifiers
    from synthgov.params import load_params
    from synthgov.atomic import write_json_atomic
    from synthgov.reports.audit import audit_html
    from synthgov.release.promote import ReleaseStore
    from synthgov.workspace import Workspace

    if not (Path(args.params_dir) / "data.yaml").exists() and args.source and not args.write_contract:
        return _audit_bare(args)
    params = load_params(args.params_dir, _role_overrides(args))
    root = Path(args.params_dir).resolve().parent
    if args.write_contract:
        print(f"wrote {write_contract(root, params)}: review the diff and commit it")
        return 0
    source = args.source or str(Workspace(args.workspace).path(params.data.source))
    d = params.data
    raw = read_table(source, header=d.header, na_values=d.na_values) if args.source else \
        read_source(source, d.format, header=d.header, na_values=d.na_values)
    if args.propose_contract:
        draft = propose_contract(raw, params.data.min_group_size)
        Path(args.propose_contract).write_text(json.dumps(draft, indent=1) + "\n")
        print(f"wrote the draft {args.propose_contract}: review it before copying into params/schema.yaml")
        return 0
    undeclared = [c for c in raw.columns if c not in params.schema_]
    found = detect_identifiers(raw[undeclared], params) if undeclared else []
    # a missing declared column is a contract failure here (the pipeline's ingest refuses it)
    df, type_errors = conform(raw, {c: s for c, s in params.schema_.items() if c in raw.columns}, source)
    if len(df) == 0:
        raise SourceError(f"{source}: no data rows (only a header?); pass a file with rows")
    last = ReleaseStore(Path(args.workspace)).current_review_json("audit.json") or {}
    report, checks = audit(df, params, type_errors, contract=load_contract(root, params), identifiers=found,
                           last_profile=last.get("source_profile"))
    report["checks"] = [c.model_dump(mode="json") for c in checks]
    out = Path(args.out or Path(args.workspace) / "audit-report")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "audit.json", report)
    (out / "audit.html").write_text(audit_html(report, params))
    findings = [{"name": c.name, "score": c.score, "threshold": c.threshold, "passed": c.passed,
                 "severity": c.severity} for c in checks]
    if args.summary_json:
        write_json_atomic(Path(args.summary_json), {"findings": findings, "report": str(out / "audit.json")})
    for c in checks:
        print(c.describe())
    blocking = [c.name for c in checks if c.blocking_failure]
    if blocking:
        print(f"AUDIT FAILED: blocking finding(s) {blocking}; see {out / 'audit.html'}", file=sys.stderr)
        return 1
    return 0


def _stage(args: argparse.Namespace) -> int:
    from synthgov.params import load_params
    from synthgov.tasks import release, stages

    params = load_params(args.params_dir)
    module = release if args.name in ("gate", "promote") else stages
    fn = getattr(module, f"{args.name}_stage").fn
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        return _stage_core(args, params, fn)
    finally:  # the stage's own time, without the interpreter's start (benchmarks/pipeline.py reads it)
        log.info("stage %s: core %.2f s wall, %.2f s CPU", args.name, time.perf_counter() - wall,
                 time.process_time() - cpu)


def _stage_core(args: argparse.Namespace, params, fn) -> int:
    if args.name == "gate":
        verdict = fn(args.workspace, params)
        if not verdict["promotable"]:
            print(f"NOT PROMOTABLE: failed gates {verdict['failed']}", file=sys.stderr)
            return 1
    elif args.name == "promote":
        from synthgov.release.lineage import git_commit
        from synthgov.tasks.run import new_run_id, params_hash
        from synthgov.workspace import Workspace

        snapshot = Workspace(args.workspace).read_json("ingest", "snapshot.json")
        fn(args.workspace, params, new_run_id(), {"runner": "dvc repro", "source_hash": snapshot["source_hash"],
                                                  "git_commit": git_commit(), "params_hash": params_hash(params)})
    else:
        fn(args.workspace, params)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    started = time.time()
    _setup_logging(verbose)
    if getattr(args, "params_dir", "") is None:
        args.params_dir = str(Path(args.workspace) / "params")
    try:
        if args.command == "init":
            return _init(args)
        if args.command == "run":
            return _run(args)
        if args.command == "stage":
            return _stage(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "audit":
            return _audit(args)
        from synthgov.release.commands import COMMANDS

        if args.command in COMMANDS:
            return COMMANDS[args.command](args)
        if args.command == "serve":
            from synthgov.operations.serve import serve

            done = serve(Path(args.workspace), api_url=args.api_url, port=args.port, pool=args.pool, once=args.once,
                         until=args.until)
            print(json.dumps({"deployments": done["deployments"], "sources": len(done["announced"])}, indent=2))
            return 0
        from synthgov.synthesizers import REGISTRY

        print("\n".join(sorted(REGISTRY)))
        return 0
    except BaseException as exc:  # every way a command can end gets its code and one clear line
        if isinstance(exc, SystemExit):
            raise
        return _report_error(exc, verbose, args, started)


if __name__ == "__main__":
    sys.exit(main())
