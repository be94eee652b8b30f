"""The `synthgov` command line.

    synthgov run [--source PATH --target COL --protected A,B --epsilon E --rows N
                  --params-dir DIR --workspace DIR --summary-json PATH]
    synthgov evaluate --train REAL --holdout REAL_HOLDOUT --synthetic SYN --target COL
                      --protected A,B [--summary-json PATH]
                                 validate, attack and gate a synthetic file from any tool
    synthgov stage NAME          one dvc.yaml stage (what `dvc repro` calls)
    synthgov synthesizers        the registered synthesizer names

Exit codes: 0 promoted (evaluate: every gate passed; stage: done), 1 a gate failed (nothing
promoted), 2 bad input or error.
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
