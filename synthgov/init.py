"""`synthgov init DIR --source FILE --target COL --protected A,B`: a workspace for a user's own table.

It writes, into DIR (created if needed, refused if it already holds params/):
- data/: a copy of the source (and of the holdout, if given), tracked by DVC;
- params/*.yaml: the package's defaults (synthgov/params/defaults), with the data roles filled in,
  identifiers in data.exclude with their reasons, the attack and audit column lists, and
  privacy.schema_epsilon (the DP bounds' epsilon, counted in every release);
- params/schema.yaml: the draft of synthgov.ingest.infer (types from the data, categories left to
  DP discovery, numeric bounds from DP), with a review note per column;
- checks/source_contract.json, prefect.yaml, .gitignore, a README of next steps;
- a git repository with DVC initialised, and the first commit.
Then `synthgov run` works from inside DIR with no other file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from synthgov.errors import ParamsError, SourceError, WorkspaceError
from synthgov.ingest.readers import NA_VALUES

DEFAULTS = ("privacy", "train", "generate", "validate", "gates", "release", "audit", "attack")
GITIGNORE = """# synthgov workspace: outputs (versioned by DVC or MLflow, or private)
/runs/
/artifacts/
/releases/
/review/
/quarantine/
/ledger/
/mlflow.db
/mlartifacts/
/.synthgov/
/incoming/
/data/sources/
/summary.json
"""
NEXT_STEPS = """# synthgov workspace

Made by `synthgov init` from `{source}` (target `{target}`, protected {protected}).

1. Review `params/schema.yaml`: every column's type, and the notes. Categories are discovered with
   DP at each run and numeric bounds are DP estimates: where a public code list or a documented
   range exists, declare it (it costs no privacy budget and keeps rare values). Excluded columns
   and why: `params/data.yaml` (exclude) and the comments at the top of `params/schema.yaml`.
2. After editing the schema or `params/audit.yaml`: `synthgov audit --write-contract`.
3. Run: `synthgov run` (from this folder). The release is in `releases/`, the reviewer's bundle in
   `review/`, every run in MLflow (`mlflow ui --backend-store-uri sqlite:///mlflow.db`).
4. Operate it unattended: `synthgov serve` (see the synthgov README, "Operating synthgov").
"""


def _defaults() -> dict[str, str]:
    folder = resources.files("synthgov.params") / "defaults"
    return {name: (folder / f"{name}.yaml").read_text() for name in DEFAULTS}


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _dvc(root: Path, *args: str) -> None:
    dvc = Path(sys.executable).parent / "dvc"
    subprocess.run([str(dvc) if dvc.exists() else "dvc", *args], cwd=root, check=True, capture_output=True)


def _schema_yaml(draft, source: str) -> str:
    lines = [f"# Drafted by synthgov init from {source}. Review every column: see the notes.",
             "# Nothing here was copied from the rows: types come from the data, categories are left",
             "# to DP discovery at each run (privacy.preprocessing_epsilon), and numeric bounds are DP",
             f"# estimates (privacy.schema_epsilon: {draft.schema_epsilon:g} in all, each column's share in its",
             "# note), counted in every release's epsilon. Declared public values cost nothing: a code list as",
             "# `categories: [...]` (add `other: true` to map anything else to 'Other'), a documented",
             "# range as `lower`/`upper`; then set privacy.schema_epsilon to 0 if no DP bound is left.",
             "# After editing: synthgov audit --write-contract."]
    if draft.exclude:
        lines.append("# Excluded (params/data.yaml exclude), never trained or released:")
        lines += [f"#   {c}: {why}" for c, why in draft.exclude.items()]
    lines.append("")
    for col, spec in draft.schema.items():
        lines.append(f"# {draft.notes.get(col, '')}")
        lines.append(yaml.safe_dump({col: spec}, sort_keys=False, default_flow_style=None).rstrip())
    return "\n".join(lines) + "\n"


def draft_params(params_dir: Path, df, *, source: str, data_source: str, data_holdout: str | None, target: str,
                 protected: list[str], positive_label: list[str] | None = None, header: bool = True,
                 na_values: list[str] | None = None, epsilon: float = 1.0, schema_epsilon: float = 0.2,
                 min_group_size: int = 20):
    """Write a complete params folder for the table `df` (read from `source`) into `params_dir`:
    the package's defaults, the data roles, and the drafted schema. Returns the Draft."""
    import numpy as np

    from synthgov.ingest.infer import draft_schema
    from synthgov.params import load_params

    if not 0 < schema_epsilon < epsilon:
        raise ParamsError(f"--schema-epsilon {schema_epsilon:g} must be above 0 and below --epsilon {epsilon:g}")
    labels = [str(v) for v in positive_label or []]
    # the DP bounds' randomness is secret (os.urandom), like every DP mechanism's
    draft = draft_schema(df, source=source, target=target, protected=protected,
                         positive_label=labels[0] if labels else None, schema_epsilon=schema_epsilon,
                         rng=np.random.default_rng(np.random.SeedSequence()), min_group_size=min_group_size)
    params_dir.mkdir(parents=True, exist_ok=True)
    for name, text in _defaults().items():
        (params_dir / f"{name}.yaml").write_text(text)
    kept = [c for c in draft.schema if c != target]
    categorical = [c for c in kept if draft.schema[c]["type"] == "categorical" and c not in protected]
    _update(params_dir / "audit.yaml", quasi_identifiers=[*protected, *categorical[:3]])
    half = (len(kept) + 1) // 2
    _update(params_dir / "attack.yaml", quasi_identifiers=kept[:9], secrets=[target],
            linkability_columns=[kept[:half], kept[half:]] if len(kept) >= 2 else [])
    _update(params_dir / "privacy.yaml", epsilon=epsilon, schema_epsilon=draft.schema_epsilon)
    variants = labels[1:] if labels and draft.positive_label == labels[0] else []
    data = {"source": data_source, "holdout": data_holdout, "format": "auto", "header": header,
            "na_values": na_values if na_values is not None else list(NA_VALUES),
            "holdout_fraction": 0.33, "split_seed": 0, "target": target,
            "positive_label": [draft.positive_label, *variants] if variants else draft.positive_label,
            "protected": protected, "protected_bins": draft.protected_bins, "intersections": [],
            "reference_population": {}, "reference_gap": 0.1, "exclude": sorted(draft.exclude),
            "min_group_size": min_group_size}
    reasons = "".join(f"#   {c}: {why}\n" for c, why in sorted(draft.exclude.items()))
    (params_dir / "data.yaml").write_text(
        "# Written by synthgov init. Review the roles; declare reference_population (public group shares,\n"
        "# e.g. census figures) to audit representation, and intersections of protected attributes.\n"
        + (f"# exclude: never trained or released (dropped at ingest):\n{reasons}" if reasons else "")
        + yaml.safe_dump(data, sort_keys=False, default_flow_style=None))
    (params_dir / "schema.yaml").write_text(_schema_yaml(draft, Path(source).name))
    load_params(params_dir)  # the drafted params must load: a failure here is our bug, not the user's
    return draft


def init(root: Path, *, source: Path, target: str, protected: list[str], holdout: Path | None = None,
         positive_label: list[str] | None = None, header: bool = True, na_values: list[str] | None = None,
         epsilon: float = 1.0, schema_epsilon: float = 0.2, min_group_size: int = 20) -> dict[str, Any]:
    """Create the workspace; returns what was inferred (for the person to review)."""
    from synthgov.audit.contract import write_contract
    from synthgov.ingest.readers import read_table
    from synthgov.params import load_params

    root, source = Path(root).resolve(), Path(source).resolve()
    if (root / "params").exists():
        raise WorkspaceError(f"{root / 'params'} exists: {root} is already a workspace; pick an empty folder")
    na = na_values if na_values is not None else list(NA_VALUES)
    df = read_table(source, header=header, na_values=na)
    if len(df) < 50:
        raise SourceError(f"{source}: fewer than 50 rows; a governed synthetic release needs more (and a few "
                          "thousand to pass its utility and privacy gates)")
    if holdout is not None:
        read_table(holdout, header=header, na_values=na)  # refuse an unreadable holdout before writing anything
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    local = root / "data" / f"source{''.join(source.suffixes[-2:]).lower() or '.csv'}"
    local_holdout = None
    if holdout is not None:
        local_holdout = root / "data" / f"holdout{''.join(Path(holdout).suffixes[-2:]).lower() or '.csv'}"
    try:
        draft = draft_params(root / "params", df, source=str(source), data_source=str(local.relative_to(root)),
                             data_holdout=str(local_holdout.relative_to(root)) if local_holdout else None,
                             target=target, protected=protected, positive_label=positive_label, header=header,
                             na_values=na, epsilon=epsilon, schema_epsilon=schema_epsilon,
                             min_group_size=min_group_size)
    except BaseException:
        shutil.rmtree(root / "params", ignore_errors=True)  # a refused init leaves no half workspace
        raise
    shutil.copy2(source, local)
    if local_holdout is not None:
        shutil.copy2(holdout, local_holdout)
    write_contract(root, load_params(root / "params"))
    spec = resources.files("synthgov.params") / "defaults" / "prefect.yaml"
    (root / "prefect.yaml").write_text(spec.read_text())
    (root / ".gitignore").write_text(GITIGNORE)
    (root / "README.md").write_text(NEXT_STEPS.format(source=source.name, target=target, protected=protected))
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "synthgov@localhost")
    _git(root, "config", "user.name", "synthgov init")
    _dvc(root, "init", "-q")
    _dvc(root, "config", "core.analytics", "false")
    _dvc(root, "add", "-q", *[str(p.relative_to(root)) for p in (local, local_holdout) if p is not None])
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "synthgov init")
    return {"workspace": str(root), "rows": len(df), "columns": len(df.columns), "kept": list(draft.schema),
            "excluded": draft.exclude, "target": target, "positive_label": draft.positive_label,
            "schema_epsilon": draft.schema_epsilon, "review": draft.notes}


def _update(path: Path, **changes: Any) -> None:
    content = yaml.safe_load(path.read_text())
    content.update(changes)
    path.write_text(f"# synthgov defaults, filled in by synthgov init ({', '.join(changes)}).\n"
                    + yaml.safe_dump(content, sort_keys=False, default_flow_style=None))
