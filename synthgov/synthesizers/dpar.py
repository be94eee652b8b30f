"""A differentially private autoregressive synthesizer, trained with Opacus DP-SGD.

Every column is first encoded by the public-schema encoder (synthgov.synthesizers.encoding), so
the model sees integer codes whose vocabulary was declared, never learned from the rows. The joint
distribution is factorised column by column, p(x) = prod_j p(x_j | x_<j), with the target last
so that the label depends on every feature. Each conditional is a small network (logistic by
default) on the one-hot prefix of the row (synthgov.synthesizers.conditionals). A derived column
(schema.yaml derived_from, derived_map) is not modelled: `sample` computes it from its source label
by the declared map, which DP noise could not learn exactly.

`fit` spends the run's budget in three slices (synthgov.privacy.accounting.plan_budget):
1. DP counts (Laplace): the rows, under add-remove neighbours (the exact count is private; the
   synthetic table's size, delta and the batch normalisation are drawn from the DP count), and
   the rows holding values outside the declared schema (mapped to "Other", clipped, or dropped);
2. DP preprocessing of undeclared schema values and discovered points (synthgov.privacy.preprocessing),
   if any;
3. DP-SGD (synthgov.privacy.dpsgd): Poisson sampling at the public train.sample_rate (lowered
   on a large table so that the expected batch holds at most train.max_batch of the DP-counted
   rows) for the public number of steps, per-sample clipping at privacy.max_grad_norm, Gaussian noise
   calibrated for the declared relation. No BatchNorm.
All DP randomness comes from the run's generators (synthgov.privacy.randomness): secret in a
release run. Sampling from the trained model is post-processing and costs nothing.
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthgov.params import ColumnSchema, FairnessParams, Params
from synthgov.privacy.accounting import both_relations, calibrate_noise, epsilon_spent, plan_budget
from synthgov.privacy.mechanisms import dp_counts
from synthgov.privacy.preprocessing import needs_estimates, resolve_schema
from synthgov.privacy.randomness import DPRandomness
from synthgov.synthesizers.conditionals import Conditionals, Rows, collate, one_hot
from synthgov.synthesizers.encoding import TabularEncoder, encodable, outside_schema, with_other

log = logging.getLogger(__name__)
DRAW_CHUNK = 100_000  # rows drawn at once (about 60 MB of one-hot prefix on Adult)


def with_derived(out: pd.DataFrame, derived: dict[str, ColumnSchema]) -> pd.DataFrame:
    """`out` with each derived column computed from its released source label by its public map."""
    for col, spec in derived.items():
        out[col] = out[spec.derived_from].map(spec.derived_map)
        if spec.type == "numeric":
            out[col] = out[col].astype(float)
    return out


class DPAutoregressive:
    """The default synthesizer: DP-SGD autoregressive conditionals on the public-schema encoding."""

    name = "dp-autoregressive"
    dp = True
    supports_fairness = True

    def __init__(self) -> None:
        self.encoder: TabularEncoder | None = None
        self.net: Conditionals | None = None
        self.hidden = 0
        self.trained_rows: np.ndarray | None = None
        self.columns: list[str] = []  # the released columns: the trained ones and the derived
        self.derived: dict[str, ColumnSchema] = {}
        self.physical_batches = 0  # forward-backward passes of the last fit (tests; never reported)
        self.mechanisms_started = False  # whether fit has touched the private rows with a DP mechanism

    @staticmethod
    def column_order(params: Params) -> list[str]:
        """The released columns in schema order, excluded columns dropped, target last."""
        target = params.data.target
        cols = [c for c in params.schema_ if c not in params.data.exclude and c != target]
        return cols + [target]

    @classmethod
    def trained_columns(cls, params: Params) -> list[str]:
        """The columns the model learns: the released ones but the derived (computed from a label)."""
        return [c for c in cls.column_order(params) if c not in params.derived]

    @staticmethod
    def strict_columns(params: Params) -> set[str]:
        """Columns whose labels must be declared ones (no "Other"): the target, and every column a
        derived one is computed from (a row with another label is dropped, like one whose target
        is undeclared, and counted among the rows outside the schema)."""
        return {params.data.target, *(s.derived_from for s in params.derived.values())}

    def fit(self, df: pd.DataFrame, params: Params, randomness: DPRandomness) -> dict[str, Any]:
        """Train on `df` under params.privacy. Returns the training report.

        `self.trained_rows` holds the positions in `df` of the rows trained on (all but those the
        schema cannot encode, or a uniform subsample of train.max_rows drawn with the DP
        randomness).
        """
        tp, pp = params.train, params.privacy
        torch.manual_seed(tp.seed)  # the initial weights only: public and data-independent
        self.hidden = tp.hidden
        self.columns, self.derived = self.column_order(params), params.derived
        columns, strict = self.trained_columns(params), self.strict_columns(params)
        todo, need_delta = needs_estimates(params, columns)
        epsilon = pp.epsilon if params.dp else math.inf
        rng = randomness.numpy
        report: dict[str, Any] = {"synthesizer": self.name, "neighbouring": pp.neighbouring,
                                  "randomness": randomness.label, "test_mode": not randomness.secret}
        started = time.perf_counter()
        # rows: the schema decides which values are outside it; rows it cannot encode are dropped
        outside = outside_schema(df, params.schema_, columns)
        keep = np.flatnonzero(encodable(df, params.schema_, columns, strict))
        if tp.max_rows and len(keep) > tp.max_rows:  # a uniform subsample, with secret coins
            keep = np.sort(rng.choice(keep, size=tp.max_rows, replace=False))
        self.trained_rows = keep
        train = df.iloc[keep].reset_index(drop=True)
        n = len(train)
        if params.dp:
            # refuse an unmeetable budget before any mechanism reads the rows (at the largest delta
            # the run could get and the largest rate, so a refusal here is certain, and spends nothing)
            plan = plan_budget(epsilon=pp.epsilon, delta=params.delta_for(1), count_epsilon=pp.count_epsilon,
                               preprocessing_epsilon=pp.preprocessing_epsilon, estimates=bool(todo),
                               estimates_delta=bool(need_delta), schema_epsilon=pp.schema_epsilon)
            calibrate_noise(epsilon=plan["training_epsilon"], delta=plan["training_delta"], sample_rate=tp.sample_rate,
                            steps=tp.steps, accountant=pp.accountant, neighbouring=pp.neighbouring)
            self.mechanisms_started = True
            replace_one = pp.neighbouring == "replace-one"
            # one row moves both counts by 1 under add-remove (L1 2); under replace-one the row
            # count is public and only the outside count moves
            counts = dp_counts({"rows_outside_schema": int(outside.sum())} if replace_one else
                               {"rows": n, "rows_outside_schema": int(outside.sum())},
                               l1_sensitivity=1 if replace_one else 2, epsilon=pp.count_epsilon, rng=rng)
            n_public = min(len(df), tp.max_rows or len(df)) if replace_one else max(counts["rows"], 1)
            delta = params.delta_for(n_public)
            budget = plan_budget(epsilon=pp.epsilon, delta=delta, count_epsilon=pp.count_epsilon,
                                 preprocessing_epsilon=pp.preprocessing_epsilon, estimates=bool(todo),
                                 estimates_delta=bool(need_delta), schema_epsilon=pp.schema_epsilon)
        else:
            counts = {"rows": n, "rows_outside_schema": int(outside.sum())}
            n_public, delta, budget = n, 0.0, {"preprocessing_epsilon": math.inf, "preprocessing_delta": 0.0}
        schema, pre = resolve_schema(train, params, columns, epsilon=budget["preprocessing_epsilon"],
                                     delta=budget["preprocessing_delta"], rng=rng, rows=n_public)
        schema, added = with_other(schema, columns, strict)
        self.encoder = TabularEncoder(schema, columns)
        rows = Rows(self.encoder.encode(train), self.encoder.cards)
        unlikely = {columns.index(c): [code] for c, code in added.items()}
        self.net = Conditionals(self.encoder.cards, tp.hidden, unlikely)
        optimizer = torch.optim.Adam(self.net.parameters(), lr=tp.learning_rate)
        steps, q = tp.steps, tp.rate_for(n_public)  # the rate from the public (DP-counted) size
        expected_batch = max(1, int(round(q * n_public)))
        report.update(parameters=sum(p.numel() for p in self.net.parameters()), steps=steps, sample_rate=q,
                      expected_batch_size=expected_batch, max_grad_norm=pp.max_grad_norm,
                      dp_counts=counts, rows_released=n_public, rows_trained=n, preprocessing=pre)
        if params.dp:
            sigma = calibrate_noise(epsilon=budget["training_epsilon"], delta=budget["training_delta"],
                                    sample_rate=q, steps=steps, accountant=pp.accountant,
                                    neighbouring=pp.neighbouring)
            from synthgov.privacy.dpsgd import make_private

            model, optimizer, loader = make_private(
                self.net, optimizer, rows, sample_rate=q, noise_multiplier=sigma,
                max_grad_norm=pp.max_grad_norm, expected_batch_size=expected_batch,
                generator=randomness.torch(), collate_fn=collate, max_physical_batch=tp.max_physical_batch)
            # not in the report: the number of chunks follows the private batch sizes
            self.physical_batches = self._run(model, optimizer, loader, steps)
            self.net = model._module
            spent = epsilon_spent(noise_multiplier=sigma, sample_rate=q, steps=steps,
                                  delta=budget["training_delta"], accountant=pp.accountant,
                                  neighbouring=pp.neighbouring)
            other = both_relations(noise_multiplier=sigma, sample_rate=q, steps=steps, delta=budget["training_delta"])
            report.update(epsilon=pp.count_epsilon + pre["epsilon"] + pp.schema_epsilon + spent, delta=delta,
                          epsilon_training=spent,
                          epsilon_training_by_relation=other, budget=budget, noise_multiplier=sigma,
                          accountant=pp.accountant)
        else:
            gen = torch.Generator().manual_seed(tp.seed)
            loader = torch.utils.data.DataLoader(rows, batch_size=expected_batch, shuffle=True,
                                                 collate_fn=collate, generator=gen)
            self.physical_batches = self._run(self.net, optimizer, loader, steps)
            report.update(epsilon=epsilon, delta=0.0, noise_multiplier=0.0, accountant="none")
        report["train_seconds"] = time.perf_counter() - started
        return report

    def _run(self, model: nn.Module, optimizer, loader, steps: int) -> int:
        """Exactly `steps` optimisation steps, so the spent epsilon is the calibrated one; returns
        the forward-backward passes taken (more than `steps` when batches are chunked). Progress
        is logged by step count only: the loss of a private batch is not a DP figure."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            done = passes = 0
            while done < steps:
                for batch in loader:
                    if done == steps:
                        break
                    passes += 1
                    optimizer.zero_grad(set_to_none=True)
                    if batch.shape[0]:
                        loss = self.net.loss(model(batch), batch)
                    else:  # an empty Poisson batch still takes a (noise-only) step
                        loss = model(batch).sum()
                    loss.backward()
                    optimizer.step()
                    if getattr(optimizer, "_is_last_step_skipped", False):
                        continue  # a chunk of a larger Poisson batch: clipped and summed, not yet a step
                    done += 1
                    if done % max(1, steps // 10) == 0:
                        log.info("dp-autoregressive: step %d/%d", done, steps)
        return passes

    @torch.no_grad()
    def draw(self, n: int, gen: torch.Generator, outcome_shift=None) -> np.ndarray:
        """Codes of `n` rows, column by column; `outcome_shift(codes, logits)` may adjust the target.

        Drawn in chunks of DRAW_CHUNK rows, so memory (a one-hot prefix per row) stays bounded
        whatever `n`; a fairness shift is then fitted per chunk."""
        if n > DRAW_CHUNK:
            sizes = [DRAW_CHUNK] * (n // DRAW_CHUNK) + [n % DRAW_CHUNK] * bool(n % DRAW_CHUNK)
            return np.concatenate([self.draw(size, gen, outcome_shift) for size in sizes])
        cards, offsets = self.encoder.cards, self.net.offsets
        onehot = torch.zeros(n, offsets[-1])
        codes = np.empty((n, len(cards)), dtype=np.int64)
        self.net.eval()
        for j in range(len(cards)):  # inverse-CDF draw: one seeded uniform per row and column
            logits = self.net.head_logits(j, onehot)
            if outcome_shift is not None and j == len(cards) - 1:
                logits = outcome_shift(codes, logits)
            cdf = torch.softmax(logits, dim=1).cumsum(dim=1)
            u = torch.rand(n, 1, generator=gen) * cdf[:, -1:]
            drawn = (cdf < u).sum(dim=1).clamp_(max=cards[j] - 1)
            onehot.scatter_(1, (drawn + offsets[j]).unsqueeze(1), 1.0)
            codes[:, j] = drawn.numpy()
        return codes

    def sample(self, n: int, seed: int, fairness: FairnessParams | None = None,
               positive_label: str | None = None) -> pd.DataFrame:
        """`n` synthetic rows; the same seed (and fairness params) gives the same rows, byte for byte.

        With a fairness mode (parity or rebalance), see synthgov.synthesizers.fair_sampling.
        """
        if self.net is None or self.encoder is None:
            raise RuntimeError("sample() called before fit() or load()")
        gen = torch.Generator().manual_seed(seed)
        if fairness is None or fairness.mode == "none":
            codes = self.draw(n, gen)
        else:
            from synthgov.synthesizers.fair_sampling import sample_fair

            codes = sample_fair(self, n, gen, fairness, positive_label)
        out = with_derived(self.encoder.decode(codes, np.random.default_rng(seed)), self.derived)
        return out[self.columns or self.encoder.columns]

    @torch.no_grad()
    def log_likelihood(self, df: pd.DataFrame) -> np.ndarray:
        """Per-row log-likelihood of `df` under the fitted model (white-box access, for audits)."""
        onehot = one_hot(self.encoder.encode(df), self.encoder.cards)
        logits = self.net(onehot)
        total = torch.zeros(len(df))
        for j in range(len(self.net.cards)):
            lo, hi = self.net.offsets[j], self.net.offsets[j + 1]
            logp = torch.log_softmax(logits[:, lo:hi], dim=1)
            total += logp.gather(1, onehot[:, lo:hi].argmax(dim=1, keepdim=True))[:, 0]
        return total.numpy()

    def save(self, model_dir: Path) -> None:
        """Weights and the public-schema config; nothing derived from private rows but the weights."""
        model_dir.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "hidden": self.hidden, "columns": self.encoder.columns,
                "schema": {c: s.model_dump() for c, s in self.encoder.schema.items()},
                "released": self.columns, "derived": {c: s.model_dump() for c, s in self.derived.items()}}
        (model_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        torch.save(self.net.state_dict(), model_dir / "weights.pt")

    @classmethod
    def load(cls, model_dir: Path) -> "DPAutoregressive":
        meta = json.loads((model_dir / "meta.json").read_text())
        self = cls()
        schema = {c: ColumnSchema.model_validate(s) for c, s in meta["schema"].items()}
        self.encoder = TabularEncoder(schema, meta["columns"])
        self.hidden = meta["hidden"]
        self.columns = meta.get("released", meta["columns"])
        self.derived = {c: ColumnSchema.model_validate(s) for c, s in meta.get("derived", {}).items()}
        self.net = Conditionals(self.encoder.cards, self.hidden)
        self.net.load_state_dict(torch.load(model_dir / "weights.pt", weights_only=True))
        return self
