"""validation.html: marginals, pair similarities, utility and per-group F1, every check."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd

from synthgov.params import Params
from synthgov.reports.common import checks_table, figure_html, fmt, table
from synthgov.validation.fidelity import distribution

def _marginals(real: pd.DataFrame, syn: pd.DataFrame, params: Params) -> str:
    import matplotlib.pyplot as plt

    k = params.data.min_group_size
    cols = [c for c in params.schema_ if c not in params.data.exclude]
    ncols = 3
    fig, axes = plt.subplots(int(np.ceil(len(cols) / ncols)), ncols, figsize=(14, 3 * np.ceil(len(cols) / ncols)))
    suppressed = 0
    for ax, col in zip(np.ravel(axes), cols):
        p, q = distribution(real[col], syn[col], params.schema_[col])
        small = p < k
        suppressed += int(small.sum() and (p[small] > 0).sum())
        p = np.where(small, 0.0, p)
        x = np.arange(len(p))
        ax.bar(x - 0.2, p / max(p.sum(), 1), width=0.4, label="real")
        ax.bar(x + 0.2, q / max(q.sum(), 1), width=0.4, label="synthetic")
        ax.set_title(col, fontsize=9)
        ax.set_xticks([])
    for ax in np.ravel(axes)[len(cols):]:
        ax.axis("off")
    np.ravel(axes)[0].legend(fontsize=8)
    note = f"<p>{suppressed} real bin(s) with fewer than k = {k} rows are suppressed.</p>"
    return figure_html(fig) + note


def _pair_heatmap(report: dict[str, Any], params: Params) -> str:
    import matplotlib.pyplot as plt

    pairs = report["fidelity"]["pairs"]
    cols = [c for c in params.schema_ if c not in params.data.exclude]
    idx = {c: i for i, c in enumerate(cols)}
    diff = np.full((len(cols), len(cols)), np.nan)
    for method in ("pearson", "cramers_v"):
        for key, v in pairs[method].items():
            a, b = key.split("|")
            diff[idx[a], idx[b]] = diff[idx[b], idx[a]] = abs(v["real"]["point"] - v["synthetic"]["point"])
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(diff, cmap="Reds", vmin=0, vmax=max(0.2, float(np.nanmax(diff)) if np.isfinite(diff).any() else 0.2))
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
    ax.set_yticks(range(len(cols)), cols, fontsize=7)
    fig.colorbar(im, ax=ax, label="|real - synthetic| (Pearson or Cramér's V)")
    return figure_html(fig)


def _utility_bars(report: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4))
    learners = [k for k, v in report["utility"].items() if isinstance(v, dict) and "roc_auc" in v]
    for i, kind in enumerate(("tstr", "trtr")):
        vals = [report["utility"][n]["roc_auc"][kind] for n in learners]
        err = [[v["point"] - v["lower"] for v in vals], [v["upper"] - v["point"] for v in vals]]
        ax1.bar(np.arange(len(learners)) + (i - 0.5) * 0.4, [v["point"] for v in vals], 0.4,
                yerr=err, label=kind.upper())
    ax1.set_xticks(range(len(learners)), learners)
    ax1.set_ylim(0.5, 1.0)
    ax1.set_title("ROC-AUC on the real holdout (95% bootstrap interval)")
    ax1.legend()
    names, tstr, trtr = [], [], []
    for attr, groups in report["subgroups"]["groups"].items():
        for g, v in groups.items():
            if not v.get("too_small"):
                names.append(f"{attr}={g}"[:28])
                tstr.append(v["tstr"]["f1"])
                trtr.append(v["trtr"]["f1"])
    x = np.arange(len(names))
    for offset, vals, label in ((-0.2, tstr, "TSTR"), (0.2, trtr, "TRTR")):
        err = [[v["point"] - v["lower"] for v in vals], [v["upper"] - v["point"] for v in vals]]
        ax2.bar(x + offset, [v["point"] for v in vals], 0.4, yerr=np.nan_to_num(err), label=label)
    ax2.set_xticks(x, names, rotation=90, fontsize=7)
    ax2.set_title("F1 by group (95% bootstrap interval)")
    ax2.legend()
    return figure_html(fig)


def validation_html(report: dict[str, Any], real: pd.DataFrame, syn: pd.DataFrame, params: Params) -> str:
    """The validation report as one self-contained HTML page."""
    import matplotlib

    matplotlib.use("Agg")
    checks = checks_table(report, "gate")
    fair_rows = []

    def with_ci(m: dict[str, Any], key: str) -> str:
        ci = m.get("intervals", {}).get(key, {})
        return f"{fmt(m[key])} [{fmt(ci.get('lower'))}, {fmt(ci.get('upper'))}]"

    for attr, v in report["fairness"].items():
        for kind in ("tstr", "trtr"):
            m = v[kind]
            fair_rows.append((attr, kind.upper(), with_ci(m, "demographic_parity_difference"),
                              with_ci(m, "demographic_parity_ratio"), with_ci(m, "equalized_odds_difference"),
                              with_ci(m, "ece_gap")))
    fairness = table(fair_rows, ("attribute", "model", "DP difference [95% CI]", "DP ratio [95% CI]",
                                  "EO difference [95% CI]", "ECE gap [95% CI]"))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>synthgov validation</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}</style></head><body>
<h1>Validation report</h1>
<p>Synthetic rows: {report['synthetic_rows']}; real holdout rows: {report['holdout_rows']};
fairness mode: {html.escape(report['fairness_mode'])}.</p>
<h2>Gates</h2>{checks}
<h2>Marginals: real against synthetic</h2>{_marginals(real, syn, params)}
<h2>Correlation and contingency differences</h2>{_pair_heatmap(report, params)}
<h2>TSTR and TRTR, by learner and by group</h2>{_utility_bars(report)}
<h2>Downstream fairness on the real holdout</h2>{fairness}
<h2>All metrics</h2><pre>{html.escape(json.dumps({k: v for k, v in report.items() if k != 'checks'}, indent=1, default=str)[:200000])}</pre>
</body></html>"""
