"""Fairness-aware sampling from an autoregressive model (params/generate.yaml, key fairness).

Outcome rates are reached by shifting, per group, the logit of the positive label in the target's
conditional (the last column), so every other learned relationship stays; group shares by
stratified rejection from a larger draw, which samples each group from the model's own
p(x | group). After Tiwald, Ebert and Soukup (2021) for statistical parity.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

log = logging.getLogger(__name__)

POOL_FACTOR = 8


def largest_remainder(shares: dict[int, float], n: int) -> dict[int, int]:
    """Integer counts summing to n in the given shares.

    >>> largest_remainder({0: 0.5, 1: 0.25, 2: 0.25}, 5)
    {0: 3, 1: 1, 2: 1}
    """
    raw = {k: v * n for k, v in shares.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


class OutcomeShift:
    """Per-group shift of the positive label's logit, found by bisection, to reach target rates."""

    def __init__(self, attr: int, positive: int, rates: dict[int, float], parity: bool):
        self.attr, self.positive, self.rates, self.parity = attr, positive, rates, parity
        self.applied: dict[int, float] = {}

    def _rate(self, logits: torch.Tensor, shift: float) -> float:
        shifted = logits.clone()
        shifted[:, self.positive] += shift
        return float(torch.softmax(shifted, dim=1)[:, self.positive].mean())

    def __call__(self, codes: np.ndarray, logits: torch.Tensor) -> torch.Tensor:
        groups = codes[:, self.attr]
        targets = dict(self.rates)
        if self.parity:
            overall = float(torch.softmax(logits, dim=1)[:, self.positive].mean())
            targets = {int(g): overall for g in np.unique(groups)}
        out = logits.clone()
        for g, rate in targets.items():
            rows = torch.from_numpy(np.flatnonzero(groups == g))
            if len(rows) == 0:
                continue
            lo, hi = -30.0, 30.0
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if self._rate(logits[rows], mid) < rate else (lo, mid)
            out[rows, self.positive] += (lo + hi) / 2
            self.applied[g] = (lo + hi) / 2
        return out


def sample_fair(model, n: int, gen: torch.Generator, fairness, positive_label: str) -> np.ndarray:
    """Codes of `n` rows from `model` (a fitted DPAutoregressive) under a fairness mode."""
    encoder = model.encoder
    attr = encoder.columns.index(fairness.attribute)
    labels = encoder.schema[fairness.attribute].categories
    target = encoder.schema[encoder.columns[-1]]
    pos = target.categories.index(positive_label)
    rates = {labels.index(g): r for g, r in fairness.target_outcome_rates.items()}
    shift = OutcomeShift(attr, pos, rates, parity=(fairness.mode == "parity"))
    if not fairness.target_shares:
        return model.draw(n, gen, shift)
    wanted = {labels.index(g): share for g, share in fairness.target_shares.items()}
    pool = model.draw(n * POOL_FACTOR, gen, shift)
    picked = []
    for code, count in largest_remainder(wanted, n).items():
        rows = np.flatnonzero(pool[:, attr] == code)
        if count and len(rows) == 0:
            raise RuntimeError(f"the model generates no rows of group '{labels[code]}' of "
                               f"'{fairness.attribute}'; drop it from fairness.target_shares")
        replace = len(rows) < count
        if replace:
            log.warning("fairness: group '%s' is rare in the model; its rows are resampled", labels[code])
        choice = torch.randint(len(rows), (count,), generator=gen).numpy() if replace else \
            torch.randperm(len(rows), generator=gen)[:count].numpy()
        picked.append(rows[choice])
    order = np.concatenate(picked)
    return pool[order[torch.randperm(len(order), generator=gen).numpy()]]
