"""One frozen model per params file (params/<section>.yaml), each validating its own keys."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from synthgov.params.schema import _Frozen


class DataParams(_Frozen):
    """Roles of the columns and where the data comes from (params/data.yaml)."""

    source: str = "data/raw/adult.data.gz"
    holdout: str | None = "data/raw/adult.test.gz"
    format: Literal["uci-adult", "auto"] = "uci-adult"
    holdout_fraction: float = Field(0.33, gt=0.0, lt=0.9)
    split_seed: int = 0
    target: str = "income"
    positive_label: str = ">50K"
    # other spellings of the positive label in some files (e.g. '>50K.'): mapped to it at ingest.
    # In data.yaml, write positive_label as a list: the label first, then its variants.
    label_variants: list[str] = Field(default_factory=list)
    protected: list[str] = Field(default_factory=lambda: ["sex", "race", "age"])
    protected_bins: dict[str, list[float]] = Field(default_factory=dict)
    intersections: list[list[str]] = Field(default_factory=list)
    reference_population: dict[str, dict[str, float]] = Field(default_factory=dict)
    reference_gap: float = Field(0.10, gt=0.0, lt=1.0)
    exclude: list[str] = Field(default_factory=list)
    min_group_size: int = Field(20, ge=1)
    # CSV files: whether the first line names the columns (without one, columns are c0, c1, ...),
    # and the cells read as missing
    header: bool = True
    na_values: list[str] = Field(default_factory=lambda: ["", "?", "NA"])

    @model_validator(mode="before")
    @classmethod
    def _label_list(cls, values: Any) -> Any:
        label = values.get("positive_label") if isinstance(values, dict) else None
        if isinstance(label, list):
            if not label or not all(isinstance(v, str) for v in label):
                raise ValueError("positive_label as a list needs the label first, then its variants (strings)")
            values = {**values, "positive_label": label[0],
                      "label_variants": [*values.get("label_variants", []), *label[1:]]}
        return values


class PrivacyParams(_Frozen):
    """The privacy claim of one run (params/privacy.yaml). epsilon: .inf means no DP at all.

    neighbouring declares the relation the (epsilon, delta) holds for: add-remove (datasets that
    differ by one row added or removed; the row count is then private and released only as a DP
    count, spending count_epsilon) or replace-one (the row count is public, one row replaced).
    test_mode seeds every DP mechanism from train.seed: reproducible and NOT private; such a run
    is labelled as a test everywhere and can never be promoted.
    """

    epsilon: float = Field(1.0, gt=0.0)
    delta: float | None = Field(None, gt=0.0, lt=1.0)
    neighbouring: Literal["add-remove", "replace-one"] = "add-remove"
    accountant: Literal["prv", "rdp", "pld"] = "prv"
    max_grad_norm: float = Field(1.0, gt=0.0)
    count_epsilon: float = Field(0.05, gt=0.0)
    preprocessing_epsilon: float = Field(0.1, gt=0.0)
    # spent once, by synthgov init, on the DP bounds of a drafted schema; counted in every release
    schema_epsilon: float = Field(0.0, ge=0.0)
    budget_epsilon: float = Field(10.0, gt=0.0)
    budget_delta: float = Field(1e-4, gt=0.0, lt=1.0)
    test_mode: bool = False

    @model_validator(mode="after")
    def _relation(self) -> "PrivacyParams":
        if self.neighbouring == "replace-one" and self.accountant != "pld":
            raise ValueError("neighbouring 'replace-one' needs accountant 'pld' (dp-accounting's PLD "
                             "accountant); Opacus' prv and rdp account for add-remove neighbours only")
        return self


class TrainParams(_Frozen):
    """Which synthesizer, and how it trains (params/train.yaml).

    The DP-SGD schedule is public: each row joins a step's batch with probability sample_rate,
    for steps = ceil(epochs / sample_rate) steps, whatever the number of rows; on a table so
    large that the expected batch would exceed max_batch rows, the rate is lowered to
    max_batch / n for n the (DP-counted) rows, with the same steps (`rate_for`).
    """

    synthesizer: str = "dp-autoregressive"
    epochs: float = Field(8.0, gt=0.0)
    sample_rate: float = Field(0.1, gt=0.0, le=1.0)
    learning_rate: float = Field(0.05, gt=0.0)
    hidden: int = Field(0, ge=0)
    seed: int = 0
    max_rows: int | None = Field(None, ge=10)
    # the most rows whose per-sample gradients are held at once: a larger Poisson batch is
    # processed in chunks of this size and noised once, as one step (memory, not privacy)
    max_physical_batch: int = Field(4096, ge=1)
    # the largest expected batch: above it the sample rate falls with the rows (time per step
    # bounded; the smaller rate needs less noise for the same epsilon). None: no bound
    max_batch: int | None = Field(8192, ge=1)

    @property
    def steps(self) -> int:
        """The number of DP-SGD steps: a public constant of the params.

        >>> TrainParams(epochs=8, sample_rate=0.1).steps
        80
        """
        return max(1, math.ceil(self.epochs / self.sample_rate - 1e-9))

    def rate_for(self, rows: int) -> float:
        """The Poisson sample rate on a table of `rows` rows (a public figure: a DP count, or the
        public size under replace-one): sample_rate, lowered so that the expected batch holds at
        most max_batch rows. Never above sample_rate, so a budget that sample_rate meets at the
        fixed number of steps is met at this rate too (a lower rate needs less noise).

        >>> TrainParams(sample_rate=0.1, max_batch=8192).rate_for(32_561)
        0.1
        >>> round(TrainParams(sample_rate=0.1, max_batch=8192).rate_for(3_256_100) * 3_256_100)
        8192
        """
        if self.max_batch is None or self.sample_rate * rows <= self.max_batch:
            return self.sample_rate
        return self.max_batch / rows


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

    rows: int | None = Field(None, ge=1, le=100_000_000)
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
    # the distinguishing classifier's training chance: pairs of it fitted on disjoint thirds of
    # its rows; 0 rounds turns it off
    distinguish_null_rounds: int = Field(4, ge=0)
    # the most rows of each table (training, synthetic, holdout) validated: a larger one is
    # validated on a seeded uniform sample of this size, and its intervals are the sample's
    max_rows: int = Field(100_000, ge=1000)
    subgroup_f1_drop: float = Field(0.05, ge=0.0, lt=1.0)
    # the real-vs-real null of the fairness gaps: pairs of models on disjoint halves of the
    # training rows (at most fairness_null_rows each); 0 rounds turns it off
    fairness_null_rounds: int = Field(4, ge=0)
    fairness_null_rows: int = Field(2500, ge=100)


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


class OperationsParams(_Frozen):
    """How runs share a workspace (params/operations.yaml, optional: these are the defaults).

    One run per source at a time: a second run of the same source waits up to busy_wait_seconds
    for the first to end (on_busy: wait) or is refused at once (on_busy: refuse). A nightly run
    samples the current release's model again when its source and params are unchanged (retrain:
    on-change), or always retrains (retrain: always). `synthgov serve` watches `incoming` for new
    source files (considered once their size has not changed for settle_seconds), moves them into
    `sources` under their content hash (the nightly's schedule is declared in prefect.yaml).
    A flow run on a large source runs each stage in a child process of its own, so that the run's
    peak memory is its largest stage's (isolate_stages: auto, from isolate_source_mib; always; never).
    """

    on_busy: Literal["wait", "refuse"] = "wait"
    busy_wait_seconds: float = Field(3600.0, ge=0.0)
    retrain: Literal["on-change", "always"] = "on-change"
    incoming: str = "incoming"
    sources: str = "data/sources"
    settle_seconds: float = Field(2.0, ge=0.0)
    # each stage of a flow run in a child process of its own (synthgov.isolation): auto = when the
    # source file holds at least isolate_source_mib
    isolate_stages: Literal["auto", "always", "never"] = "auto"
    isolate_source_mib: float = Field(100.0, ge=0.0)


class ReleaseParams(_Frozen):
    """How releases are governed (params/release.yaml, optional: these are the defaults).

    A release expires ttl_days after its promotion and is then never CURRENT (the nightly
    regenerates before that). With require_approval, a candidate that passed every gate waits up to
    approval_timeout_seconds for a reviewer's decision (`synthgov approve`, or the Prefect UI form)
    and is not promoted without one. intended_uses and prohibited_uses go on every dataset card.
    """

    ttl_days: float = Field(30.0, gt=0.0)
    require_approval: bool = False
    approval_timeout_seconds: float = Field(86400.0, gt=0.0)
    intended_uses: list[str] = ["software development and testing", "teaching and exploratory analysis",
                                "prototyping models to be validated again on the real data"]
    prohibited_uses: list[str] = ["decisions about any real person",
                                  "re-identification or linking with other data",
                                  "publishing statistics as if they were the source's own"]


class GateSpec(_Frozen):
    threshold: float
    severity: Literal["block", "warn"] = "block"
    # an interval that straddles the threshold (the sample cannot tell): block (the default, as a
    # failure) or warn (promotable, named on the card); see synthgov.checks
    undecidable: Literal["block", "warn"] = "block"


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
    "operations": OperationsParams,
    "release": ReleaseParams,
}
