"""Singling-out risk after Giomi et al. 2022 (the anonymeter paper), on the whole training set.

An attacker who holds the synthetic rows writes predicates that single out one synthetic row
("age <= 19 and occupation == X and hours >= 70") and claims each singles out one real person.
- univariate predicates: a value held by exactly one synthetic row, the synthetic minimum or
  maximum of a numeric column, the one missing value of a column;
- multivariate predicates: a random synthetic row on `n_columns` random columns, each numeric
  value turned into >= (above the synthetic median) or <= (at or below it), other values ==.
Predicates that match exactly one synthetic row (duplicate rows removed) are kept, no repeats.

A predicate succeeds when it matches exactly one row of the WHOLE training set (a sample of it
would make a verbatim copy look safe). The control needs the success rate the same predicates
would have on a training set of that size that the generator never saw. The holdout is smaller,
and a predicate singles out more easily in a smaller table (a predicate of weight w singles out
one of n rows with probability n w (1 - w)^(n - 1), Cohen and Nissim 2020), so anonymeter
extrapolates the control's success to the training size with a curve fitted over control
subsamples. Measured on real Adult splits, that extrapolation (and an empirical-Bayes variant of
it) missed an honest table's rate by up to 0.08 either way: enough to fail honest releases. Here
the control is exact instead: a predicate matching s of the training and holdout rows together
would single out one training row with the hypergeometric probability P(X = 1) if membership
were exchangeable (`null_singling_out`), at the training set's own size. A verbatim copy scores
1; an honest table scores about 0 (benchmarks/README.md). A baseline attacker draws predicates
at random from the synthetic values. Only rates leave this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgov.attacks.risk import risk

EQ, LE, GE, NULL = 0, 1, 2, 3
_BATCH = 256
_CELLS = 1 << 24  # predicate x row cells evaluated at once: about 130 MB of values, whatever the rows


class Queries:
    """Predicates of k conditions each, as arrays: column index, operator and value per condition."""

    def __init__(self, cols: np.ndarray, ops: np.ndarray, vals: np.ndarray):
        self.cols, self.ops, self.vals = cols, ops, vals

    def __len__(self) -> int:
        return len(self.cols)

    def take(self, idx: np.ndarray) -> "Queries":
        return Queries(self.cols[idx], self.ops[idx], self.vals[idx])


def _matrix(df: pd.DataFrame, columns: list[str], numeric: dict[str, bool], vocab: dict[str, dict[str, int]]
            ) -> np.ndarray:
    """Rows as a float matrix: numerics as they are, categories as shared codes, NaN missing."""
    parts = []
    for col in columns:
        if numeric[col]:
            parts.append(df[col].to_numpy(dtype=float))
        else:
            parts.append(df[col].astype(object).where(df[col].notna(), None).map(
                lambda v, m=vocab[col]: m.get(str(v), np.nan) if v is not None else np.nan).to_numpy(dtype=float))
    return np.column_stack(parts) if parts else np.zeros((len(df), 0))


def counts(V: np.ndarray, q: Queries) -> np.ndarray:
    """How many rows of V each predicate matches, in batches (a batch x rows mask at a time, the
    batch smaller on a larger table so that memory stays bounded: 3.3M rows in batches of 256
    held 16 GB).

    >>> V = np.array([[1.0, 0.0], [2.0, 0.0], [2.0, 1.0]])
    >>> counts(V, Queries(np.array([[0], [0], [1]]), np.array([[EQ], [GE], [EQ]]), np.array([[2.0], [1.0], [0.0]]))).tolist()
    [2, 3, 2]
    """
    out = np.empty(len(q), dtype=np.int64)
    batch = max(1, min(_BATCH, _CELLS // max(len(V), 1)))
    for start in range(0, len(q), batch):
        sl = slice(start, start + batch)
        cols, ops, vals = q.cols[sl], q.ops[sl], q.vals[sl]
        mask = np.ones((len(cols), len(V)), dtype=bool)
        for j in range(cols.shape[1]):
            X = V[:, cols[:, j]].T  # batch x rows
            v, op = vals[:, j:j + 1], ops[:, j:j + 1]
            with np.errstate(invalid="ignore"):
                cond = np.where(op == EQ, X == v, np.where(op == LE, X <= v, np.where(op == GE, X >= v, np.isnan(X))))
            mask &= cond
        out[sl] = mask.sum(axis=1)
    return out


def _univariate(S: np.ndarray, rng: np.random.Generator, numeric: list[bool]) -> Queries:
    cols, ops, vals = [], [], []
    for j in range(S.shape[1]):
        x = S[:, j]
        missing = np.isnan(x)
        found = [(NULL, 0.0)] if missing.sum() == 1 else []
        present = x[~missing]
        if numeric[j] and len(present):
            found += [(LE, present.min()), (GE, present.max())]
        values, n = np.unique(present, return_counts=True)
        found += [(EQ, v) for v in values[n == 1]]
        for op, v in found:
            cols.append(j)
            ops.append(op)
            vals.append(v)
    order = rng.permutation(len(cols))
    as_col = lambda a, t: np.asarray(a, dtype=t)[order][:, None]  # noqa: E731
    return Queries(as_col(cols, np.int64), as_col(ops, np.int64), as_col(vals, float))


def _multivariate(S: np.ndarray, n_columns: int, rng: np.random.Generator, attempts: int,
                  numeric: list[bool]) -> Queries:
    d, k = S.shape[1], min(n_columns, S.shape[1])
    rows = rng.integers(len(S), size=attempts)
    cols = np.sort(np.argsort(rng.random((attempts, d)), axis=1)[:, :k], axis=1)
    vals = S[rows[:, None], cols]
    with np.errstate(all="ignore"):
        medians = np.array([np.nanmedian(S[:, j]) if (~np.isnan(S[:, j])).any() else np.nan for j in range(d)])
    is_num = np.asarray(numeric)[cols]
    ops = np.where(np.isnan(vals), NULL, np.where(~is_num, EQ, np.where(vals > medians[cols], GE, LE)))
    return Queries(cols, ops, np.nan_to_num(vals))


def _singling(S: np.ndarray, q: Queries, n_attacks: int, batch: int = 2000) -> Queries:
    """The predicates that match exactly one synthetic row, without repeats, at most n_attacks
    (candidates are checked a batch at a time, until enough are found)."""
    if len(q) == 0:
        return q
    key = np.concatenate([q.cols, q.ops, q.vals], axis=1)
    _, first = np.unique(key, axis=0, return_index=True)
    q = q.take(np.sort(first))
    keep: list[np.ndarray] = []
    for start in range(0, len(q), batch):
        idx = np.arange(start, min(start + batch, len(q)))
        keep.append(idx[counts(S, q.take(idx)) == 1])
        if sum(len(k) for k in keep) >= n_attacks:
            break
    return q.take(np.concatenate(keep)[:n_attacks])


def _random_queries(S: np.ndarray, n: int, width: int, rng: np.random.Generator, numeric: list[bool]) -> Queries:
    """The baseline: random synthetic values of random columns, with random operators."""
    d = S.shape[1]
    cols = np.sort(np.argsort(rng.random((n, d)), axis=1)[:, :min(width, d)], axis=1)
    vals = S[rng.integers(len(S), size=cols.shape), cols]
    random_op = rng.choice([EQ, LE, GE], size=cols.shape)
    ops = np.where(np.isnan(vals), NULL, np.where(np.asarray(numeric)[cols], random_op, EQ))
    return Queries(cols, ops, np.nan_to_num(vals))


def null_singling_out(train_counts: np.ndarray, control_counts: np.ndarray, n_train: int, n_control: int
                      ) -> np.ndarray:
    """Per predicate, the probability that it singles out one training row if the training rows
    were a random subset of the real rows (training plus control) it matches: hypergeometric.

    If the synthetic table knew nothing particular about the training rows, which of the
    n_train + n_control real rows are the members would be exchangeable, so a predicate matching
    s of them matches exactly one member with probability P(X = 1), X ~ Hypergeom(total, s,
    n_train). The training set's own size is used: nothing is extrapolated.

    >>> null_singling_out(np.array([1]), np.array([0]), 2, 1).round(3).tolist()  # one match of three rows
    [0.667]
    """
    from scipy.stats import hypergeom

    s = np.asarray(train_counts) + np.asarray(control_counts)
    return hypergeom.pmf(1, n_train + n_control, s, n_train)


def singling_out(syn: pd.DataFrame, train: pd.DataFrame, control: pd.DataFrame, columns: list[str],
                 numeric: dict[str, bool], *, n_attacks: int, n_columns: int, rng: np.random.Generator,
                 rounds: int, seed: int, attempts_per_attack: int = 100) -> dict[str, Any]:
    """Univariate and multivariate singling-out risk of `syn` against the whole `train`."""
    vocab = {}
    for col in columns:
        if not numeric[col]:
            labels = pd.concat([f[col] for f in (syn, train, control)]).dropna().astype(str).unique()
            vocab[col] = {v: i for i, v in enumerate(sorted(labels))}
    # duplicates removed on whole rows (two people may share every attacked column)
    S, T, C = (_matrix(f.drop_duplicates(), columns, numeric, vocab) for f in (syn, train, control))
    flags = [numeric[c] for c in columns]
    out: dict[str, Any] = {"columns": columns, "training_rows": len(T), "control_rows": len(C)}
    pooled: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for mode in ("univariate", "multivariate"):
        width = 1 if mode == "univariate" else n_columns
        candidates = _univariate(S, rng, flags) if mode == "univariate" else \
            _multivariate(S, n_columns, rng, attempts_per_attack * n_attacks, flags)
        q = _singling(S, candidates, n_attacks)
        if len(q) == 0:
            out[mode] = {"attacks": 0, "risk": {"point": 0.0, "lower": 0.0, "upper": 0.0},
                         "note": "no predicate singles out a synthetic row"}
            continue
        in_train = counts(T, q)
        main = in_train == 1
        control_rate = null_singling_out(in_train, counts(C, q), len(T), len(C))
        baseline = counts(T, _random_queries(S, len(q), width, rng, flags)) == 1
        pooled.append((main, control_rate, baseline))
        out[mode] = risk(main, control_rate, baseline, rounds=rounds, seed=seed)
    # the gate reads the risk over every predicate the attacker wrote, of both kinds
    main, control_rate, baseline = (np.concatenate(parts) if parts else np.zeros(0) for parts in zip(*pooled)) \
        if pooled else (np.zeros(0),) * 3
    out.update(risk(main, control_rate, baseline, rounds=rounds, seed=seed))
    out["control"] = "exact null: hypergeometric over the training and holdout rows each predicate matches"
    return out
