"""Typed, frozen params: one YAML file per concern under params/, validated once at load.

Each file maps to one section model. A typo or an out-of-range value fails at load time with the
file's path and the key's dotted name. Cross-file rules (the target must be a declared column)
are checked once all files are read. CLI flags override a few common keys, and the result is
validated again, so an override cannot slip past the rules.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synthgov.errors import ParamsError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnSchema(_Frozen):
    """The declared, public schema of one column: the only statistics the DP path may read."""

    type: Literal["numeric", "categorical"]
    categories: list[str] | None = None
    other: bool = False
    lower: float | None = None
    upper: float | None = None
    bins: int | list[float] = 16
    edges: Literal["uniform", "dp-quantiles"] = "uniform"
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False
    nullable: bool = False

    @property
    def needs_dp_estimate(self) -> bool:
        """Whether part of this column's schema must be estimated with DP (not declared)."""
        return (self.type == "categorical" and self.categories is None) or \
            (self.type == "numeric" and self.edges == "dp-quantiles")

    @model_validator(mode="after")
    def _check(self) -> "ColumnSchema":
        if self.type == "categorical":
            if self.categories is not None and not self.categories:
                raise ValueError("'categories' is empty: list them, or leave it out to discover "
                                 "them with DP (privacy.preprocessing_epsilon)")
            if self.categories and len(set(self.categories)) != len(self.categories):
                raise ValueError("'categories' has duplicates")
        else:
            if self.lower is None or self.upper is None or not self.lower < self.upper:
                raise ValueError("a numeric column needs 'lower' < 'upper' (public bounds)")
            if isinstance(self.bins, int) and self.bins < 2:
                raise ValueError("'bins' must be at least 2")
            if self.edges == "dp-quantiles" and not isinstance(self.bins, int):
                raise ValueError("edges 'dp-quantiles' needs 'bins' as a number of bins")
            if isinstance(self.bins, list):
                edges = self.bins
                if len(edges) < 3 or any(b <= a for a, b in zip(edges, edges[1:])):
                    raise ValueError("'bins' as edges must be at least 3 strictly increasing values")
                if edges[0] > self.lower or edges[-1] < self.upper:
                    raise ValueError("'bins' edges must cover [lower, upper]")
            if self.scale == "log" and self.lower < 0:
                raise ValueError("scale 'log' needs lower >= 0")
        return self


class DataParams(_Frozen):
    """Roles of the columns and where the data comes from (params/data.yaml)."""

    source: str = "data/raw/adult.data.gz"
    holdout: str | None = "data/raw/adult.test.gz"
    format: Literal["uci-adult", "auto"] = "uci-adult"
    holdout_fraction: float = Field(0.33, gt=0.0, lt=0.9)
    split_seed: int = 0
    target: str = "income"
    positive_label: str = ">50K"
    protected: list[str] = Field(default_factory=lambda: ["sex", "race", "age"])
    protected_bins: dict[str, list[float]] = Field(default_factory=dict)
    intersections: list[list[str]] = Field(default_factory=list)
    reference_population: dict[str, dict[str, float]] = Field(default_factory=dict)
    reference_gap: float = Field(0.10, gt=0.0, lt=1.0)
    exclude: list[str] = Field(default_factory=list)
    min_group_size: int = Field(20, ge=1)


class PrivacyParams(_Frozen):
    """The privacy budget of one run (params/privacy.yaml). epsilon: .inf means no DP at all."""

    epsilon: float = Field(1.0, gt=0.0)
    delta: float | None = Field(None, gt=0.0, lt=1.0)
    accountant: Literal["prv", "rdp"] = "prv"
    max_grad_norm: float = Field(1.0, gt=0.0)
    preprocessing_epsilon: float = Field(0.1, gt=0.0)
    budget_epsilon: float = Field(10.0, gt=0.0)
    budget_delta: float = Field(1e-4, gt=0.0, lt=1.0)


class TrainParams(_Frozen):
    """Which synthesizer, and how it trains (params/train.yaml)."""

    synthesizer: str = "dp-autoregressive"
    epochs: float = Field(8.0, gt=0.0)
    sample_rate: float = Field(0.1, gt=0.0, le=1.0)
    learning_rate: float = Field(0.05, gt=0.0)
    hidden: int = Field(0, ge=0)
    seed: int = 0
    max_rows: int | None = Field(None, ge=10)


class FairnessParams(_Frozen):
    """Fairness-aware generation (params/generate.yaml, key fairness).

    mode none: sample the learned distribution. rebalance: reach `target_shares` of the groups of
    `attribute` and/or `target_outcome_rates` (positive-label rate per group). parity: make the
    positive-label rate of every group of `attribute` equal to the overall rate (statistical
    parity, as in Tiwald, Ebert and Soukup 2021), keeping every other relationship.
    """

    mode: Literal["none", "rebalance", "parity"] = "none"
    attribute: str | None = None
    target_shares: dict[str, float] = Field(default_factory=dict)
    target_outcome_rates: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> "FairnessParams":
        if self.mode != "none" and not self.attribute:
            raise ValueError(f"fairness mode '{self.mode}' needs an 'attribute'")
        if self.mode == "rebalance" and not (self.target_shares or self.target_outcome_rates):
            raise ValueError("fairness mode 'rebalance' needs target_shares or target_outcome_rates")
        if self.target_shares and abs(sum(self.target_shares.values()) - 1.0) > 1e-6:
            raise ValueError("fairness.target_shares must sum to 1")
        values = [*self.target_shares.values(), *self.target_outcome_rates.values()]
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ValueError("fairness shares and rates must lie in [0, 1]")
        return self


class GenerateParams(_Frozen):
    """How many rows to sample, and the seed (params/generate.yaml). rows: null = source size."""

    rows: int | None = Field(None, ge=1)
    seed: int = 0
    fairness: FairnessParams = FairnessParams()


class ValidateParams(_Frozen):
    """Utility, fidelity and fairness evaluation (params/validate.yaml)."""

    max_iter: int = Field(200, ge=10)
    seed: int = 0
    bootstrap_rounds: int = Field(200, ge=20)
    fairness_bootstrap_rounds: int = Field(100, ge=20)
    quality_bootstrap_rounds: int = Field(10, ge=2)
    importance_repeats: int = Field(5, ge=2)
    importance_rows: int = Field(2000, ge=100)
    quality_rows: int = Field(5000, ge=100)
    distinguish_rows: int = Field(10000, ge=100)
    subgroup_f1_drop: float = Field(0.05, ge=0.0, lt=1.0)


class AuditParams(_Frozen):
    """The pre-generation audit (params/audit.yaml)."""

    min_rows: int = Field(1000, ge=1)
    max_rows: int = Field(10_000_000, ge=1)
    column_order: Literal["any", "exact"] = "any"
    max_null_rate: float = Field(0.1, ge=0.0, le=1.0)
    identifier_unique_ratio: float = Field(0.99, gt=0.5, le=1.0)
    identifier_pattern_share: float = Field(0.5, gt=0.0, le=1.0)
    identifier_min_distinct: int = Field(50, ge=2)
    free_text_unique_ratio: float = Field(0.5, gt=0.0, le=1.0)
    free_text_min_length: int = Field(20, ge=1)
    quasi_identifiers: list[str] = []
    disparate_impact_range: tuple[float, float] = (0.8, 1.25)
    model_rows: int = Field(8000, ge=100)
    cv_folds: int = Field(3, ge=2)
    top_proxies: int = Field(5, ge=1)
    drift_psi: float = Field(0.2, gt=0.0)
    drift_ks: float = Field(0.1, gt=0.0, le=1.0)
    seed: int = 0

    @model_validator(mode="after")
    def _bounds(self) -> "AuditParams":
        if self.max_rows < self.min_rows:
            raise ValueError("max_rows must be at least min_rows")
        lo, hi = self.disparate_impact_range
        if not 0 < lo <= 1 <= hi:
            raise ValueError("disparate_impact_range must be [low <= 1, high >= 1]")
        return self


class AttackParams(_Frozen):
    """Privacy attacks before release (params/attack.yaml)."""

    subsample: int = Field(5000, ge=10)
    index_rows: int = Field(50000, ge=100)
    seed: int = 0
    bootstrap_rounds: int = Field(200, ge=20)
    near_duplicate_quantile: float = Field(0.01, gt=0.0, lt=0.5)
    mia_neighbors: int = Field(10, ge=1)
    n_attacks: int = Field(1000, ge=50)
    quasi_identifiers: list[str] = []
    secrets: list[str] = []
    singling_out_columns: int = Field(3, ge=1)
    linkability_columns: list[list[str]] = []
    linkability_neighbors: int = Field(1, ge=1)
    canary_pairs: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _shapes(self) -> "AttackParams":
        if len(self.linkability_columns) != 2 or not all(self.linkability_columns) or \
                set(self.linkability_columns[0]) & set(self.linkability_columns[1]):
            raise ValueError("linkability_columns must be two non-empty, disjoint lists of columns")
        if not self.quasi_identifiers or not self.secrets:
            raise ValueError("quasi_identifiers and secrets must each name at least one column")
        return self


class GateSpec(_Frozen):
    threshold: float
    severity: Literal["block", "warn"] = "block"


# Every gate a run evaluates; each check declares its own goal where it is computed.
GATE_NAMES = frozenset({
    "audit_contract",
    "audit_disparate_impact",
    "audit_min_group_size",
    "audit_identifiers",
    "audit_identifiers_trained",
    "audit_quasi_identifiers",
    "audit_proxies",
    "audit_label_issues",
    "audit_drift",
    "privacy_epsilon",
    "fidelity_column",
    "fidelity_js",
    "fidelity_pairs",
    "quality_column_shapes",
    "quality_column_pair_trends",
    "distinguishability",
    "coverage",
    "tstr_ratio",
    "subgroup_f1",
    "fairness_dp_gap",
    "fairness_eo_gap",
    "exact_match_excess",
    "near_duplicate_excess",
    "dcr_share",
    "mia_auc",
    "mia_tpr_at_1pct_fpr",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
    "canary_epsilon",
})


class GatesParams(_Frozen):
    """Thresholds and severities of every gate (params/gates.yaml)."""

    gates: dict[str, GateSpec]

    @field_validator("gates")
    @classmethod
    def _known(cls, gates: dict[str, GateSpec]) -> dict[str, GateSpec]:
        unknown = sorted(set(gates) - set(GATE_NAMES))
        if unknown:
            raise ValueError(f"unknown gate(s) {unknown}; known gates: {sorted(GATE_NAMES)}")
        missing = sorted(set(GATE_NAMES) - set(gates))
        if missing:
            raise ValueError(f"missing gate(s) {missing}: every gate needs a threshold")
        return gates

    def spec(self, name: str) -> GateSpec:
        return self.gates[name]


SECTIONS: dict[str, type[_Frozen]] = {
    "data": DataParams,
    "privacy": PrivacyParams,
    "train": TrainParams,
    "generate": GenerateParams,
    "validate": ValidateParams,
    "audit": AuditParams,
    "attack": AttackParams,
    "gates": GatesParams,
}


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
        for attr, shares in self.data.reference_population.items():
            if attr not in self.data.protected:
                raise ValueError(f"data.reference_population names '{attr}', which is not protected")
            if abs(sum(shares.values()) - 1.0) > 0.01:
                raise ValueError(f"data.reference_population.{attr} shares must sum to 1")
        for col in [*self.data.protected, *self.data.exclude, *sum(self.data.intersections, [])]:
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
        fair = self.generate.fairness
        if fair.mode != "none":
            spec = self.schema_.get(fair.attribute)
            if spec is None or spec.type != "categorical" or not spec.categories or \
                    fair.attribute == self.data.target:
                raise ValueError(f"generate.fairness.attribute '{fair.attribute}' must be a "
                                 "categorical, non-target column with declared categories in "
                                 "schema.yaml")
            unknown = set(fair.target_shares) | set(fair.target_outcome_rates)
            unknown -= set(spec.categories)
            if unknown:
                raise ValueError(f"generate.fairness groups {sorted(unknown)} are not declared "
                                 f"categories of '{fair.attribute}'")
        if math.isinf(self.privacy.epsilon) and self.privacy.delta not in (None,):
            raise ValueError("privacy.delta must be null when privacy.epsilon is .inf (no DP)")
        return self

    @property
    def dp(self) -> bool:
        """Whether this run trains with differential privacy."""
        return not math.isinf(self.privacy.epsilon)

    def delta_for(self, n_rows: int) -> float:
        """The δ of this run: the declared one, or min(1e-5, 1/n) by default.

        >>> p = load_params(Path(__file__).parent.parent / "params")
        >>> p.delta_for(32561)
        1e-05
        """
        return self.privacy.delta if self.privacy.delta is not None else min(1e-5, 1.0 / n_rows)

    def dump(self) -> dict[str, Any]:
        """A plain dict of every param, for logging."""
        return self.model_dump(mode="json", by_alias=True)


FILES = ["data", "schema", "privacy", "train", "generate", "audit", "validate", "attack", "gates"]


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
    for name in FILES:
        path = params_dir / f"{name}.yaml"
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
