"""Typed, frozen params: one YAML file per concern under params/, validated once at load.

Each file maps to one section model (synthgov.params.sections; the column schema in
synthgov.params.schema). A typo or an out-of-range value fails at load time with the file's path
and the key's dotted name. Cross-file rules (the target must be a declared column) are checked
once all files are read. CLI flags override a few common keys, and the result is validated again,
so an override cannot slip past the rules. This package imports nothing else of synthgov but
synthgov.errors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, Field, ValidationError, model_validator

from synthgov.errors import ParamsError
from synthgov.params.schema import ColumnSchema, _Frozen
from synthgov.params.sections import (  # noqa: F401  (re-exported: the section models)
    GATE_NAMES, SECTIONS, AttackParams, AuditParams, DataParams, FairnessParams, GateSpec, GatesParams,
    GenerateParams, OperationsParams, PrivacyParams, ReleaseParams, TrainParams, ValidateParams,
)


class Params(_Frozen):
    """All params of a run. `schema_` holds the declared public schema (params/schema.yaml)."""

    data: DataParams = DataParams()
    schema_: dict[str, ColumnSchema] = Field(alias="schema")
    privacy: PrivacyParams = PrivacyParams()
    train: TrainParams = TrainParams()
    generate: GenerateParams = GenerateParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    audit: AuditParams
    attack: AttackParams
    gates: GatesParams
    operations: OperationsParams = OperationsParams()
    release: ReleaseParams = ReleaseParams()

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _cross(self) -> "Params":
        cols = set(self.schema_)
        if self.data.target not in cols:
            raise ValueError(f"data.target '{self.data.target}' is not a column in schema.yaml")
        tgt = self.schema_[self.data.target]
        if tgt.type != "categorical" or self.data.positive_label not in (tgt.categories or []):
            # the target's labels are always declared: the positive label must be known in advance
            raise ValueError(
                f"data.positive_label '{self.data.positive_label}' must be one of the declared "
                f"categories of target '{self.data.target}'"
            )
        undeclared = [c for c in self.data.protected if c not in cols]
        if undeclared:
            raise ValueError(f"data.protected (or --protected) names {undeclared}, not declared in schema.yaml; "
                             f"protected attributes must be declared columns: {sorted(cols)}")
        for attr, shares in self.data.reference_population.items():
            if attr not in self.data.protected:
                raise ValueError(f"data.reference_population names '{attr}', which is not protected")
            if abs(sum(shares.values()) - 1.0) > 0.01:
                raise ValueError(f"data.reference_population.{attr} shares must sum to 1")
        # data.exclude may name undeclared columns (identifiers synthgov init found): ingest drops them
        for col in [*self.data.protected, *sum(self.data.intersections, [])]:
            if col not in cols:
                raise ValueError(f"column '{col}' in data.yaml is not declared in schema.yaml")
        for col in self.data.protected:
            if self.schema_[col].type == "numeric" and col not in self.data.protected_bins:
                raise ValueError(
                    f"protected numeric column '{col}' needs bins in data.protected_bins"
                )
        unknown = sorted(set(self.audit.quasi_identifiers) - cols)
        if unknown:
            raise ValueError(f"audit.yaml names quasi-identifiers {unknown} that are not declared in schema.yaml")
        attack_cols = [*self.attack.quasi_identifiers, *self.attack.secrets, *sum(self.attack.linkability_columns, [])]
        unknown = sorted({c for c in attack_cols if c not in cols or c in self.data.exclude})
        if unknown:
            raise ValueError(f"attack.yaml names columns {unknown} that are not declared (or are excluded) "
                             "in schema.yaml / data.yaml")
        if self.data.target in self.data.exclude:
            raise ValueError("data.exclude must not contain the target")
        for col, spec in self.schema_.items():
            if spec.derived_from:
                self._check_derived(col, spec)
        fair = self.generate.fairness
        if fair.mode != "none":
            spec = self.schema_.get(fair.attribute)
            if spec is None or spec.type != "categorical" or not spec.categories or \
                    fair.attribute == self.data.target or spec.derived_from:
                raise ValueError(f"generate.fairness.attribute '{fair.attribute}' must be a "
                                 "categorical, non-target, non-derived column with declared categories in "
                                 "schema.yaml")
            unknown = set(fair.target_shares) | set(fair.target_outcome_rates)
            unknown -= set(spec.categories)
            if unknown:
                raise ValueError(f"generate.fairness groups {sorted(unknown)} are not declared "
                                 f"categories of '{fair.attribute}'")
        if math.isinf(self.privacy.epsilon) and self.privacy.delta not in (None,):
            raise ValueError("privacy.delta must be null when privacy.epsilon is .inf (no DP)")
        return self

    def _check_derived(self, col: str, spec: ColumnSchema) -> None:
        source = self.schema_.get(spec.derived_from)
        where = f"schema.yaml: column '{col}' derived_from '{spec.derived_from}'"
        if source is None or source.type != "categorical" or not source.categories or source.derived_from:
            raise ValueError(f"{where}: it must name a categorical column with declared categories, "
                             "not itself derived")
        if col == self.data.target or spec.derived_from in self.data.exclude:
            raise ValueError(f"{where}: the target cannot be derived, nor derived from an excluded column")
        missing = sorted(set(source.categories) - set(spec.derived_map))
        extra = sorted(set(spec.derived_map) - set(source.categories))
        if missing or extra:
            raise ValueError(f"{where}: derived_map needs one value for each declared category of "
                             f"'{spec.derived_from}' (missing {missing}, not declared {extra})")
        values = list(spec.derived_map.values())
        if spec.type == "numeric" and not all(isinstance(v, (int, float)) and spec.lower <= v <= spec.upper
                                              for v in values):
            raise ValueError(f"{where}: derived_map values must be numbers within [lower, upper]")
        if spec.type == "categorical" and not set(map(str, values)) <= set(spec.categories or []):
            raise ValueError(f"{where}: derived_map values must be declared categories of '{col}'")
        if source.nullable and not spec.nullable:
            raise ValueError(f"{where}: '{spec.derived_from}' is nullable, so '{col}' must be too "
                             "(a missing label gives a missing value)")

    @property
    def derived(self) -> dict[str, ColumnSchema]:
        """The derived columns (not excluded), in schema order."""
        return {c: s for c, s in self.schema_.items() if s.derived_from and c not in self.data.exclude}

    @property
    def dp(self) -> bool:
        """Whether this run trains with differential privacy."""
        return not math.isinf(self.privacy.epsilon)

    def delta_for(self, n_bound: float) -> float:
        """The delta of this run for a public bound (or DP estimate) of the row count: the
        declared one or 1e-5, never above 1/(10 n).

        >>> p = load_params(Path(__file__).parents[2] / "params")
        >>> p.delta_for(1000), f"{p.delta_for(32561):.3g}"
        (1e-05, '3.07e-06')
        """
        declared = self.privacy.delta if self.privacy.delta is not None else 1e-5
        return min(declared, 1.0 / (10.0 * max(float(n_bound), 1.0)))

    def dump(self) -> dict[str, Any]:
        """A plain dict of every param, for logging."""
        return self.model_dump(mode="json", by_alias=True)


FILES = ["data", "schema", "privacy", "train", "generate", "audit", "validate", "attack", "gates"]
OPTIONAL_FILES = ["operations", "release"]  # a missing optional file means its defaults


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ParamsError(f"{path}: params file is missing; copy it from the repository's params/")
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc}); fix the syntax") from None
    if not isinstance(loaded, dict):
        raise ParamsError(f"{path}: the top level must be a mapping of keys to values")
    return loaded


def _format_errors(where: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{where}: key '{key}': {err['msg']}")
    return "\n".join(lines)


def load_params(params_dir: str | Path, overrides: dict[str, Any] | None = None) -> Params:
    """Load and validate params/*.yaml, then apply dotted-key overrides such as privacy.epsilon.

    Raises:
        ParamsError: naming the file and the key, for any missing, malformed or invalid value.
    """
    params_dir = Path(params_dir)
    raw: dict[str, Any] = {}
    errors = []
    for name in FILES + OPTIONAL_FILES:
        path = params_dir / f"{name}.yaml"
        if name in OPTIONAL_FILES and not path.exists():
            raw[name] = {}
            continue
        content = _read_yaml(path)
        if name == "gates":
            content = {"gates": content}
        if name in SECTIONS:
            try:
                SECTIONS[name].model_validate(content)
            except ValidationError as exc:
                errors.append(_format_errors(str(path), exc))
        else:
            for col, spec in content.items():
                try:
                    ColumnSchema.model_validate(spec)
                except ValidationError as exc:
                    errors.append(_format_errors(f"{path}: column '{col}'", exc))
        raw[name] = content
    if errors:
        raise ParamsError("\n".join(errors))
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".", 1)
        raw[section] = {**raw[section], key: value}
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_format_errors(f"{params_dir} (after overrides)", exc)) from None
