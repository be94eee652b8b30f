"""Singling-out, linkability and attribute-inference risks, after Giomi et al., "A Unified
Framework for Quantifying Privacy Risk in Synthetic Data" (PoPETs 2023, the anonymeter paper).

Implemented from the paper (the anonymeter package pins numpy < 1.27 and cannot join this
environment); singling-out has its own module (synthgov.attacks.singling_out). Each attack is run
three times: the main attack against training rows, the same attack against control rows
(holdout rows the generator never saw), and a baseline attacker who does not use the synthetic
rows. The risk is the main attack's success beyond the
control's, normalised: (main - control) / (1 - control), 0 when the synthetic rows tell an
attacker no more about the training rows than about anyone else. The risk's 95% interval comes
from a seeded bootstrap of the main and control successes, widened to what the two rates' Wilson
intervals allow: where the attack succeeds on nearly every row (control near 1, as for a secret
the quasi-identifiers all but determine) the normalisation divides by almost nothing, and a
bootstrap of a rate at 0 or 1 has no spread, so the bootstrap alone can call a chance difference
of a few rows a decided risk. Only rates leave this module.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from synthgov.params import Params
from synthgov.stats import interval, resample_weights, wilson


def risk(main: np.ndarray, control: np.ndarray, baseline: np.ndarray, *, rounds: int, seed: int) -> dict[str, Any]:
    """Risk (main - control) / (1 - control) with a bootstrap 95% interval, from the per-attack
    successes of the main, control and baseline attacks (main and control resampled apart; a
    control success may be a probability, e.g. size-corrected).

    >>> hits = lambda k, n: np.arange(n) < k
    >>> r = risk(hits(90, 100), hits(10, 100), hits(5, 100), rounds=200, seed=0)
    >>> round(r["risk"]["point"], 3), r["risk"]["lower"] > 0.7
    (0.889, True)
    >>> near_one = risk(hits(250, 250), hits(245, 250), hits(200, 250), rounds=200, seed=0)["risk"]
    >>> near_one["point"], near_one["lower"] < 0.2 < near_one["upper"]  # five rows of 250 decide nothing
    (1.0, True)
    """
    main, control = np.asarray(main, dtype=float), np.asarray(control, dtype=float)
    if len(main) == 0 or len(control) == 0:
        nan = {"point": math.nan, "lower": math.nan, "upper": math.nan}
        return {"attacks": 0, "risk": nan, "main_rate": nan, "control_rate": nan, "baseline_rate": math.nan,
                "main_beats_baseline": False}
    rate_m = resample_weights(len(main), rounds=rounds, seed=seed) @ main / len(main)
    rate_c = resample_weights(len(control), rounds=rounds, seed=seed + 1) @ control / len(control)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = np.where(rate_c < 1, (rate_m - rate_c) / (1 - rate_c), np.nan)
    base = float(np.mean(baseline)) if len(baseline) else math.nan
    return {"attacks": len(main), "main_rate": interval(rate_m), "control_rate": interval(rate_c),
            "baseline_rate": base, "risk": _widened(interval(draws), main, control),
            # an attack no better than the baseline says nothing (the paper's validity check)
            "main_beats_baseline": bool(rate_m[0] > base)}


def _widened(boot: dict[str, float], main: np.ndarray, control: np.ndarray) -> dict[str, float]:
    """The bootstrap interval of the risk, widened to the interval arithmetic of the Wilson
    intervals of the two rates (the risk rises with the main rate and falls with the control's).
    Below -1 a lower bound says nothing more; with every control attack a success it is -1."""
    if math.isnan(boot["lower"]):  # too few defined draws: the gate must not decide on this alone
        return boot
    m_lo, m_hi = wilson(float(main.sum()), len(main))
    c_lo, c_hi = wilson(float(control.sum()), len(control))
    lower = max(-1.0, (m_lo - c_hi) / (1 - c_hi)) if c_hi < 1 else -1.0
    upper = (m_hi - c_lo) / (1 - c_lo)
    return {"point": boot["point"], "lower": min(boot["lower"], lower), "upper": max(boot["upper"], upper)}


def _nearest(index_frame: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return NearestNeighbors(n_neighbors=k).fit(index_frame).kneighbors(queries, return_distance=False)


def linkability(syn_enc: tuple[np.ndarray, np.ndarray], targets_enc: tuple[np.ndarray, np.ndarray],
                controls_enc: tuple[np.ndarray, np.ndarray], *, neighbors: int, rng: np.random.Generator,
                rounds: int, seed: int) -> dict[str, Any]:
    """Linkage of two column sets through the synthetic rows: success when a target's `neighbors`
    nearest synthetic rows on set A and on set B share a row (Giomi et al., section 4.3)."""
    def linked(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        na, nb = _nearest(syn_enc[0], a, neighbors), _nearest(syn_enc[1], b, neighbors)
        return (na[:, :, None] == nb[:, None, :]).any(axis=(1, 2))

    n = len(targets_enc[0])
    # the baseline attacker picks `neighbors` synthetic rows at random for each side
    ra, rb = (rng.integers(0, len(syn_enc[0]), (n, neighbors)) for _ in range(2))
    base = (ra[:, :, None] == rb[:, None, :]).any(axis=(1, 2))
    return risk(linked(*targets_enc), linked(*controls_enc), base, rounds=rounds, seed=seed)


def inference(syn_qi: np.ndarray, syn_secret: np.ndarray, targets_qi: np.ndarray, targets_secret: np.ndarray,
              controls_qi: np.ndarray, controls_secret: np.ndarray, *, rng: np.random.Generator, rounds: int,
              seed: int) -> dict[str, Any]:
    """Attribute inference: guess a target's secret as that of its nearest synthetic row on the
    quasi-identifiers (Giomi et al., section 4.4); the baseline guesses a random synthetic row's."""
    def correct(qi: np.ndarray, secret: np.ndarray) -> np.ndarray:
        return syn_secret[_nearest(syn_qi, qi, 1)[:, 0]] == secret

    base = syn_secret[rng.integers(0, len(syn_secret), len(targets_qi))] == targets_secret
    return risk(correct(targets_qi, targets_secret), correct(controls_qi, controls_secret), base,
                rounds=rounds, seed=seed)


def risks(syn: pd.DataFrame, members: pd.DataFrame, controls: pd.DataFrame, params: Params, encode, *,
          trained: pd.DataFrame, holdout: pd.DataFrame) -> dict[str, Any]:
    """All three risks; `encode(df, columns)` gives the mixed-type distance encoding of columns.

    Singling-out predicates are judged on the whole training set (`trained`) against the whole
    holdout (`holdout`, size-corrected); linkability on n_attacks attacked members and controls;
    inference guesses on every attacked member and control row (equally many).
    """
    from synthgov.attacks.singling_out import singling_out

    ap = params.attack
    rng = np.random.default_rng(ap.seed)
    kw = {"rounds": ap.bootstrap_rounds, "seed": ap.seed}
    n = min(ap.n_attacks, len(members), len(controls))
    targets, ctrl = members.iloc[:n], controls.iloc[:n]
    numeric = {c: params.schema_[c].type == "numeric" for c in ap.quasi_identifiers}
    out: dict[str, Any] = {"singling_out": singling_out(syn, trained, holdout, ap.quasi_identifiers, numeric,
                                                         n_attacks=ap.n_attacks, n_columns=ap.singling_out_columns,
                                                         rng=rng, **kw)}
    a, b = ap.linkability_columns
    out["linkability"] = {**linkability((encode(syn, a), encode(syn, b)), (encode(targets, a), encode(targets, b)),
                                        (encode(ctrl, a), encode(ctrl, b)), neighbors=ap.linkability_neighbors,
                                        rng=rng, **kw), "columns": [a, b]}
    out["inference"] = {}
    for secret in ap.secrets:
        qi = [c for c in ap.quasi_identifiers if c != secret]
        values = lambda df: df[secret].astype(object).where(df[secret].notna(), "(missing)").astype(str).to_numpy()  # noqa: E731
        out["inference"][secret] = {**inference(encode(syn, qi), values(syn), encode(members, qi), values(members),
                                                encode(controls, qi), values(controls), rng=rng, **kw),
                                    "quasi_identifiers": qi}
    return out
