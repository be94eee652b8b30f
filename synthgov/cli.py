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
    synthgov stage NAME          one dvc.yaml stage (what `dvc repro` calls)
    synthgov synthesizers        the registered synthesizer names

Exit codes: 0 promoted (evaluate: every gate passed; audit: no blocking finding; stage: done),
1 a gate failed (nothing promoted), 2 bad input or error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from synthgov.errors import GateFailedError, SynthgovError

log = logging.getLogger("synthgov")


def _role_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Overrides of the column roles: --target, --positive-label, --protected."""
    out: dict[str, Any] = {}
    if args.target:
        out["data.target"] = args.target
    if args.positive_label:
        out["data.positive_label"] = args.positive_label
    if args.protected:
        out["data.protected"] = [c.strip() for c in args.protected.split(",") if c.strip()]
    return out


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
        out["privacy.epsilon"] = args.epsilon
    if args.rows is not None:
        out["generate.rows"] = args.rows
    return out


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params-dir", default="params", help="folder of the params YAML files (default: params)")
    p.add_argument("--workspace", default=".", help="folder for artifacts/, releases/, mlflow.db (default: .)")


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
    run.add_argument("--tracking-uri", help="MLflow tracking URI (default: sqlite:///<workspace>/mlflow.db)")
    run.add_argument("--summary-json", help="write the run summary JSON here")
    ev = sub.add_parser("evaluate", help="validate, attack and gate a synthetic file from any tool")
    _common(ev)
    ev.add_argument("--train", required=True, help="the real rows the synthetic file was made from")
    ev.add_argument("--holdout", required=True, help="real rows that tool never saw")
    ev.add_argument("--synthetic", required=True, help="the synthetic CSV or Parquet file")
    ev.add_argument("--target", help="target column (overrides data.target)")
    ev.add_argument("--positive-label", help="positive class of the target")
    ev.add_argument("--protected", help="comma-separated protected columns")
    ev.add_argument("--tracking-uri", help="MLflow tracking URI (default: sqlite:///<workspace>/mlflow.db)")
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
    stage = sub.add_parser("stage", help="run one stage, as dvc.yaml does")
    _common(stage)
    stage.add_argument("name", choices=["ingest", "audit", "train", "generate", "validate",
                                        "attack", "gate", "promote"])
    sub.add_parser("synthesizers", help="list the registered synthesizers")
    return parser


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("synthgov")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    for name in ("synthgov.synthesizers.dpar",):
        logging.getLogger(name).setLevel(logging.INFO)


def _run(args: argparse.Namespace) -> int:
    from synthgov.flows.pipeline import pipeline
    from synthgov.params import load_params

    overrides = _overrides(args)
    params = load_params(args.params_dir, overrides)
    workspace = Path(args.workspace).resolve()
    own_params = Path(args.params_dir).resolve() == workspace / "params"
    try:
        summary = pipeline(params=params, workspace=str(workspace), tracking_uri=args.tracking_uri,
                           summary_json=args.summary_json, commit_dvc=own_params and not overrides)
    except GateFailedError as exc:
        print(f"NOT PROMOTED: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({k: summary[k] for k in ("run_id", "promoted", "release_id", "epsilon",
                                              "tstr_auc", "trtr_auc", "synthetic_path")}, indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from synthgov.flows.evaluate import evaluate
    from synthgov.params import load_params

    overrides = {"data.source": str(Path(args.train).resolve()), "data.format": "auto",
                 "data.holdout": str(Path(args.holdout).resolve()), **_role_overrides(args)}
    params = load_params(args.params_dir, overrides)
    summary = evaluate(params=params, synthetic_path=str(Path(args.synthetic).resolve()),
                       workspace=str(Path(args.workspace).resolve()), tracking_uri=args.tracking_uri,
                       summary_json=args.summary_json)
    print(json.dumps({k: summary[k] for k in ("run_id", "gates_passed", "tstr_auc", "trtr_auc")}, indent=2))
    return 0


def _audit(args: argparse.Namespace) -> int:
    from synthgov.audit import audit
    from synthgov.audit.contract import load_contract, propose_contract, write_contract
    from synthgov.ingest.readers import conform, read_source, read_table
    from synthgov.audit.identifiers import detect_identifiers
    from synthgov.params import load_params
    from synthgov.atomic import write_json_atomic
    from synthgov.reports.audit import audit_html
    from synthgov.release.promote import ReleaseStore
    from synthgov.tasks.stages import Workspace

    params = load_params(args.params_dir, _role_overrides(args))
    root = Path(args.params_dir).resolve().parent
    if args.write_contract:
        print(f"wrote {write_contract(root, params)}: review the diff and commit it")
        return 0
    source = args.source or str(Workspace(args.workspace).path(params.data.source))
    raw = read_table(source) if args.source else read_source(source, params.data.format)
    if args.propose_contract:
        draft = propose_contract(raw, params.data.min_group_size)
        Path(args.propose_contract).write_text(json.dumps(draft, indent=1) + "\n")
        print(f"wrote the draft {args.propose_contract}: review it before copying into params/schema.yaml")
        return 0
    undeclared = [c for c in raw.columns if c not in params.schema_]
    found = detect_identifiers(raw[undeclared], params) if undeclared else []
    # a missing declared column is a contract failure here (the pipeline's ingest refuses it)
    df, type_errors = conform(raw, {c: s for c, s in params.schema_.items() if c in raw.columns}, source)
    last = ReleaseStore(Path(args.workspace)).current_json("audit.json") or {}
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
    from synthgov.tasks import stages

    params = load_params(args.params_dir)
    fn = getattr(stages, f"{args.name}_stage").fn
    if args.name == "gate":
        verdict = fn(args.workspace, params)
        if not verdict["promotable"]:
            print(f"NOT PROMOTABLE: failed gates {verdict['failed']}", file=sys.stderr)
            return 1
    elif args.name == "promote":
        from synthgov.tasks.run import new_run_id

        fn(args.workspace, params, new_run_id(), {"runner": "dvc repro"})
    else:
        fn(args.workspace, params)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging()
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "stage":
            return _stage(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "audit":
            return _audit(args)
        from synthgov.synthesizers import REGISTRY

        print("\n".join(sorted(REGISTRY)))
        return 0
    except GateFailedError as exc:
        print(f"NOT PROMOTED: {exc}", file=sys.stderr)
        return 1
    except SynthgovError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
