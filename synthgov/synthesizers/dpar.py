"""A differentially private autoregressive synthesizer, trained with Opacus DP-SGD.

Every column is first encoded by the public-schema encoder (synthgov.synthesizers.encoding), so the model sees
integer codes whose vocabulary was declared, never learned from the rows. The joint distribution
is factorised column by column, p(x) = prod_j p(x_j | x_<j), with the target last so that the
label depends on every feature. Each conditional is a small network (logistic by default) on the
one-hot prefix of the row, which keeps the parameter count, and so the DP noise, small.

Training is DP-SGD through Opacus' PrivacyEngine: Poisson sampling at train.sample_rate, per-sample
clipping at privacy.max_grad_norm, and a noise multiplier calibrated so that the planned schedule
(train.epochs) spends exactly the target epsilon at delta <= 1/n. No BatchNorm. Sampling is
vectorised over rows and seeded, so a seed gives byte-identical output on CPU.
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

from synthgov.synthesizers.encoding import TabularEncoder
from synthgov.params import ColumnSchema, FairnessParams, Params
from synthgov.privacy.preprocessing import resolve_schema
from synthgov.privacy.accounting import calibrate_noise, check_delta

log = logging.getLogger(__name__)


class _Conditionals(nn.Module):
    """One head per column j, reading the one-hot prefix of columns < j."""

    def __init__(self, cards: list[int], hidden: int):
        super().__init__()
        self.cards = list(cards)
        self.offsets = np.concatenate([[0], np.cumsum(cards)]).tolist()
        heads = []
        for j, card in enumerate(cards):
            width = max(self.offsets[j], 1)  # the first column reads a constant input
            if hidden:
                heads.append(nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, card)))
            else:
                heads.append(nn.Linear(width, card))
        self.heads = nn.ModuleList(heads)

    def head_logits(self, j: int, onehot: torch.Tensor) -> torch.Tensor:
        prefix = onehot[:, : self.offsets[j]] if j else onehot.new_ones(onehot.shape[0], 1)
        return self.heads[j](prefix)

    def forward(self, onehot: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.head_logits(j, onehot) for j in range(len(self.cards))], dim=1)

    def loss(self, logits: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Mean over rows of the summed per-column cross-entropy."""
        total = logits.new_zeros(())
        for j in range(len(self.cards)):
            lo, hi = self.offsets[j], self.offsets[j + 1]
            target = onehot[:, lo:hi].argmax(dim=1)
            total = total + nn.functional.cross_entropy(logits[:, lo:hi], target, reduction="mean")
        return total


class _Rows(torch.utils.data.Dataset):
    """Rows of a one-hot matrix, fetched a whole batch at a time."""

    def __init__(self, onehot: torch.Tensor):
        self.onehot = onehot

    def __len__(self) -> int:
        return self.onehot.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.onehot[i]

    def __getitems__(self, idx: list[int]) -> list[torch.Tensor]:
        return [self.onehot[torch.as_tensor(idx, dtype=torch.long)]]


def _collate(batch: list[torch.Tensor]) -> torch.Tensor:
    return batch[0]


def _one_hot(codes: np.ndarray, cards: list[int]) -> torch.Tensor:
    parts = [nn.functional.one_hot(torch.as_tensor(codes[:, j]), c) for j, c in enumerate(cards)]
    return torch.cat(parts, dim=1).float()


_POOL_FACTOR = 8


def _largest_remainder(shares: dict[int, float], n: int) -> dict[int, int]:
    """Integer counts summing to n in the given shares.

    >>> _largest_remainder({0: 0.5, 1: 0.25, 2: 0.25}, 5)
    {0: 3, 1: 1, 2: 1}
    """
    raw = {k: v * n for k, v in shares.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - counts[k], reverse=True)[: n - sum(counts.values())]:
        counts[k] += 1
    return counts


class _OutcomeShift:
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


class DPAutoregressive:
    """The default synthesizer: DP-SGD autoregressive conditionals on the public-schema encoding."""

    name = "dp-autoregressive"
    dp = True
    supports_fairness = True

    def __init__(self) -> None:
        self.encoder: TabularEncoder | None = None
        self.net: _Conditionals | None = None
        self.hidden = 0

    @staticmethod
    def column_order(params: Params) -> list[str]:
        """Training columns in schema order, excluded columns dropped, target last."""
        target = params.data.target
        cols = [c for c in params.schema_ if c not in params.data.exclude and c != target]
        return cols + [target]

    def fit(self, df: pd.DataFrame, params: Params) -> dict[str, Any]:
        """Train on `df` under params.privacy. Returns the privacy and training report."""
        tp, pp = params.train, params.privacy
        torch.manual_seed(tp.seed)
        self.hidden = tp.hidden
        n = len(df)
        delta_total = params.delta_for(n) if params.dp else 0.0
        schema, pre = resolve_schema(df, params, self.column_order(params), delta=delta_total,
                                     rng=np.random.default_rng(tp.seed))
        self.encoder = TabularEncoder(schema, self.column_order(params))
        onehot = _one_hot(self.encoder.encode(df), self.encoder.cards)
        self.net = _Conditionals(self.encoder.cards, tp.hidden)
        optimizer = torch.optim.Adam(self.net.parameters(), lr=tp.learning_rate)
        batch_size = max(1, int(round(tp.sample_rate * n)))
        loader = torch.utils.data.DataLoader(_Rows(onehot), batch_size=batch_size, shuffle=True,
                                             collate_fn=_collate)
        steps_per_epoch = len(loader)
        steps = max(1, int(math.ceil(tp.epochs * steps_per_epoch)))
        report: dict[str, Any] = {"synthesizer": self.name, "rows": n, "steps": steps,
                                  "parameters": sum(p.numel() for p in self.net.parameters())}
        started = time.perf_counter()
        report["preprocessing"] = pre
        if params.dp:
            check_delta(delta_total, n)
            delta = delta_total - pre["delta"]
            sample_rate = 1.0 / steps_per_epoch
            sigma = calibrate_noise(epsilon=pp.epsilon - pre["epsilon"], delta=delta,
                                    sample_rate=sample_rate, steps=steps, accountant=pp.accountant)
            from opacus import PrivacyEngine

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Opacus warns about secure RNG; runs are seeded
                engine = PrivacyEngine(accountant=pp.accountant)
                model, optimizer, loader = engine.make_private(
                    module=self.net, optimizer=optimizer, data_loader=loader,
                    noise_multiplier=sigma, max_grad_norm=pp.max_grad_norm, poisson_sampling=True,
                )
            loss = self._run(model, optimizer, loader, steps)
            epsilon_train = float(engine.get_epsilon(delta))
            self.net = model._module
            report.update(epsilon=epsilon_train + pre["epsilon"], delta=delta + pre["delta"],
                          epsilon_training=epsilon_train, noise_multiplier=sigma,
                          sample_rate=sample_rate, accountant=pp.accountant,
                          max_grad_norm=pp.max_grad_norm)
        else:
            loss = self._run(self.net, optimizer, loader, steps)
            report.update(epsilon=math.inf, delta=0.0, noise_multiplier=0.0,
                          sample_rate=batch_size / n, accountant="none")
        report.update(train_seconds=time.perf_counter() - started, final_loss=loss)
        return report

    def _run(self, model: nn.Module, optimizer, loader, steps: int) -> float:
        """Exactly `steps` optimisation steps, so the spent epsilon is the calibrated one."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            return self._steps(model, optimizer, loader, steps)

    def _steps(self, model: nn.Module, optimizer, loader, steps: int) -> float:
        done, last = 0, float("nan")
        while done < steps:
            for batch in loader:
                if done == steps:
                    break
                optimizer.zero_grad(set_to_none=True)
                loss = self.net.loss(model(batch), batch) if batch.shape[0] else None
                if loss is None:  # an empty Poisson batch still takes a (noise-only) step
                    loss = model(batch).sum()
                loss.backward()
                optimizer.step()
                done += 1
                last = float(loss.detach())
                if done % max(1, steps // 10) == 0:
                    log.info("dp-autoregressive: step %d/%d, loss %.3f", done, steps, last)
        return last

    @torch.no_grad()
    def _draw(self, n: int, gen: torch.Generator, outcome_shift=None) -> np.ndarray:
        """Codes of `n` rows, column by column; `outcome_shift(codes, logits)` may adjust the target."""
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

        With fairness mode parity or rebalance, see synthgov.params.FairnessParams. Outcome rates
        are reached by shifting, per group, the logit of `positive_label` in the target's
        conditional (the last column), so every other relationship is the learned one. Group
        shares are reached by stratified rejection from a larger draw, which samples each group
        from the model's own p(x | group).
        """
        if self.net is None or self.encoder is None:
            raise RuntimeError("sample() called before fit() or load()")
        gen = torch.Generator().manual_seed(seed)
        mode = fairness.mode if fairness else "none"
        if mode == "none":
            return self.encoder.decode(self._draw(n, gen), np.random.default_rng(seed))
        attr = self.encoder.columns.index(fairness.attribute)
        labels = self.encoder.schema[fairness.attribute].categories
        target = self.encoder.schema[self.encoder.columns[-1]]
        pos = target.categories.index(positive_label)
        rates = {labels.index(g): r for g, r in fairness.target_outcome_rates.items()}
        shift = _OutcomeShift(attr, pos, rates, parity=(mode == "parity"))
        if not fairness.target_shares:
            return self.encoder.decode(self._draw(n, gen, shift), np.random.default_rng(seed))
        wanted = {labels.index(g): share for g, share in fairness.target_shares.items()}
        pool = self._draw(n * _POOL_FACTOR, gen, shift)
        counts = _largest_remainder(wanted, n)
        picked = []
        for code, count in counts.items():
            rows = np.flatnonzero(pool[:, attr] == code)
            if count and len(rows) == 0:
                raise RuntimeError(f"the model generates no rows of group '{labels[code]}' of "
                                   f"'{fairness.attribute}'; drop it from fairness.target_shares")
            replace = len(rows) < count
            if replace:
                log.warning("fairness: group '%s' is rare in the model; its rows are resampled",
                            labels[code])
            choice = torch.randint(len(rows), (count,), generator=gen).numpy() if replace else \
                torch.randperm(len(rows), generator=gen)[:count].numpy()
            picked.append(rows[choice])
        order = np.concatenate(picked)
        order = order[torch.randperm(len(order), generator=gen).numpy()]
        return self.encoder.decode(pool[order], np.random.default_rng(seed))

    @torch.no_grad()
    def log_likelihood(self, df: pd.DataFrame) -> np.ndarray:
        """Per-row log-likelihood of `df` under the fitted model (white-box access, for audits)."""
        onehot = _one_hot(self.encoder.encode(df), self.encoder.cards)
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
                "schema": {c: s.model_dump() for c, s in self.encoder.schema.items()}}
        (model_dir / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        torch.save(self.net.state_dict(), model_dir / "weights.pt")

    @classmethod
    def load(cls, model_dir: Path) -> "DPAutoregressive":
        meta = json.loads((model_dir / "meta.json").read_text())
        self = cls()
        schema = {c: ColumnSchema.model_validate(s) for c, s in meta["schema"].items()}
        self.encoder = TabularEncoder(schema, meta["columns"])
        self.hidden = meta["hidden"]
        self.net = _Conditionals(self.encoder.cards, self.hidden)
        self.net.load_state_dict(torch.load(model_dir / "weights.pt", weights_only=True))
        return self
