"""Readable HTML reports (validation.html, attack.html) with embedded figures.

Figures show aggregates only: shares over public bins or declared categories, in which any bin of
the real data with fewer than k rows is suppressed (drawn as zero and listed as suppressed), and
metric values. No row of the source appears in a report.
"""

from __future__ import annotations

import base64
import html
import io
import json
from typing import Any

import numpy as np
import pandas as pd

from synthgov.validation.fidelity import distribution
from synthgov.params import Params


def _figure_html(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


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
    return _figure_html(fig) + note


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
    return _figure_html(fig)


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
    return _figure_html(fig)


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _checks_table(report: dict[str, Any], label: str) -> str:
    return _table([(c["name"], _fmt(c["score"]), _fmt(c["threshold"]), c["goal"], c["severity"],
                    "passed" if c["passed"] else "FAILED") for c in report.get("checks", [])],
                  (label, "score", "threshold", "goal", "severity", "verdict"))


def _fmt(x: Any) -> str:
    return f"{x:.4f}" if isinstance(x, float) else str(x)


def validation_html(report: dict[str, Any], real: pd.DataFrame, syn: pd.DataFrame, params: Params) -> str:
    """The validation report as one self-contained HTML page."""
    import matplotlib

    matplotlib.use("Agg")
    checks = _checks_table(report, "gate")
    fair_rows = []

    def with_ci(m: dict[str, Any], key: str) -> str:
        ci = m.get("intervals", {}).get(key, {})
        return f"{_fmt(m[key])} [{_fmt(ci.get('lower'))}, {_fmt(ci.get('upper'))}]"

    for attr, v in report["fairness"].items():
        for kind in ("tstr", "trtr"):
            m = v[kind]
            fair_rows.append((attr, kind.upper(), with_ci(m, "demographic_parity_difference"),
                              with_ci(m, "demographic_parity_ratio"), with_ci(m, "equalized_odds_difference"),
                              with_ci(m, "ece_gap")))
    fairness = _table(fair_rows, ("attribute", "model", "DP difference [95% CI]", "DP ratio [95% CI]",
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


def _attack_figures(report: dict[str, Any], distances: dict[str, np.ndarray]) -> str:
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4))
    if distances:
        top = float(np.quantile(np.r_[distances["dcr_train"], distances["dcr_holdout"]], 0.99)) or 1.0
        bins = np.linspace(0, top, 40)
        ax1.hist(distances["dcr_train"], bins=bins, alpha=0.6, label="to nearest training row")
        ax1.hist(distances["dcr_holdout"], bins=bins, alpha=0.6, label="to nearest holdout row")
        ax1.legend()
    ax1.set_title("Distance of synthetic rows to closest record")
    mi = report.get("membership_inference", {})
    for name in ("distance", "density_ratio"):
        if name in mi:
            curve, auc = mi[name]["roc_curve"], mi[name]["roc_auc"]
            ax2.plot(curve["fpr"], curve["tpr"], label=f"{name} (AUC {auc['point']:.3f})")
    ax2.plot([0, 1], [0, 1], "k:", label="chance")
    ax2.set_xlabel("FPR")
    ax2.set_ylabel("TPR")
    ax2.set_title("Membership inference ROC (members: training rows)")
    ax2.legend()
    risks = report.get("risks", {})
    names, vals = [], []
    for name, v in risks.items():
        for label, r in ([(name, v)] if name != "inference" else [(f"inference:{s}", x) for s, x in v.items()]):
            names.append(label)
            vals.append(r["risk"])
    if vals:
        x = np.arange(len(vals))
        err = [[max(0.0, v["point"] - v["lower"]) for v in vals], [max(0.0, v["upper"] - v["point"]) for v in vals]]
        ax3.bar(x, [v["point"] for v in vals], yerr=np.nan_to_num(err), capsize=4)
        ax3.set_xticks(x, names, rotation=20)
    ax3.axhline(0, color="k", lw=0.5)
    ax3.set_title("Risk (main - control) / (1 - control), 95% interval")
    return _figure_html(fig)


def attack_html(report: dict[str, Any], distances: dict[str, np.ndarray]) -> str:
    """The attack report as one self-contained HTML page (aggregates only)."""
    import matplotlib

    matplotlib.use("Agg")
    checks = _checks_table(report, "gate")
    body = {k: v for k, v in report.items() if k != "checks"}
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>synthgov attacks</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}</style></head><body>
<h1>Privacy attacks</h1>
<p>Members (training rows) and non-members (holdout rows) attacked: {report.get('members')} each;
synthetic rows attacked: {report.get('synthetic_rows_attacked')}. Gates compare the upper bound
of each interval with its threshold.</p>
<h2>Gates</h2>{checks}
<h2>Distances, membership inference and risks</h2>{_attack_figures(report, distances)}
<h2>All figures</h2><pre>{html.escape(json.dumps(body, indent=1, default=str)[:200000])}</pre>
</body></html>"""


def _audit_figures(report: dict[str, Any], params: Params) -> str:
    import matplotlib.pyplot as plt

    attrs = [a for a in params.data.protected if a in report["bias"]]
    fig, axes = plt.subplots(2, max(2, len(attrs)), figsize=(5 * max(2, len(attrs)), 8))
    for i, attr in enumerate(attrs):
        groups = {g: v for g, v in report["bias"][attr]["groups"].items() if not v.get("under_k")}
        names = list(groups)
        x = np.arange(len(names))
        ax = axes[0, i]
        ax.bar(x - 0.2, [groups[g]["share"] for g in names], 0.4, label="source")
        ref = report["bias"][attr]["groups"]
        ax.bar(x + 0.2, [ref.get(g, {}).get("reference_share") or 0 for g in names], 0.4, label="reference")
        ax.set_xticks(x, [n[:14] for n in names], rotation=45, fontsize=7)
        ax.set_title(f"{attr}: group shares (groups under k suppressed)")
        ax.legend(fontsize=7)
        axes[1, i].bar(x, [groups[g]["base_rate"] for g in names])
        axes[1, i].set_xticks(x, [n[:14] for n in names], rotation=45, fontsize=7)
        axes[1, i].set_title(f"{attr}: outcome base rate (DI {report['bias'][attr]['disparate_impact']:.2f})")
    fig.tight_layout()
    parts = [_figure_html(fig)]
    proxies, drift = report.get("proxies", {}), report.get("drift", {})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.5))
    ax1.bar(list(proxies), [v["roc_auc"] for v in proxies.values()])
    ax1.axhline(0.5, color="k", ls=":", label="chance")
    ax1.set_ylim(0, 1)
    ax1.set_title("Proxy detection: CV ROC-AUC of predicting the attribute")
    ax1.legend()
    psi = {c: v["psi"] for c, v in drift.get("columns", {}).items() if "psi" in v}
    if psi:
        ax2.bar(list(psi), list(psi.values()))
        ax2.axhline(params.audit.drift_psi, color="r", ls="--", label="threshold")
        ax2.tick_params(axis="x", rotation=90, labelsize=7)
        ax2.legend()
        ax2.set_title("Drift against the last release's source (PSI)")
    else:
        ax2.set_title("Drift: no promoted release to compare with")
    parts.append(_figure_html(fig))
    return "".join(parts)


def audit_html(report: dict[str, Any], params: Params) -> str:
    """The audit report as one self-contained HTML page (aggregates over groups of >= k rows)."""
    import matplotlib

    matplotlib.use("Agg")
    checks = _checks_table(report, "finding")
    failed = _table([(str(e["column"]), e["expectation"], str(e.get("unexpected_count", "")))
                     for e in report["contract"]["expectations"] if not e["success"]],
                    ("column", "expectation", "unexpected values (count)"))
    idents = _table([(f["column"], "; ".join(f["reasons"]), "trained" if f["trained"] else "excluded")
                     for f in report["identifiers"]], ("column", "why", "decision"))
    proxies = _table([(a, _fmt(v["roc_auc"]), _fmt(v["balanced_accuracy"]), _fmt(v["majority_baseline"]),
                       ", ".join(f["column"] for f in v["top_features"])) for a, v in report.get("proxies", {}).items()],
                     ("attribute", "ROC-AUC", "balanced accuracy", "majority baseline", "top proxies (mutual information)"))
    body = {k: v for k, v in report.items() if k not in ("checks", "source_profile")}
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>synthgov audit</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;font-size:13px}}</style></head><body>
<h1>Source audit</h1><p>Source rows: {report['rows']}. Figures over groups under k =
{params.data.min_group_size} rows are suppressed.</p>
<h2>Findings</h2>{checks}
<h2>Failed contract expectations</h2>{failed}
<h2>Direct identifiers</h2>{idents}
<h2>Groups, reference population, base rates, proxies and drift</h2>{_audit_figures(report, params)}
<h2>Proxies</h2>{proxies}
<h2>All figures</h2><pre>{html.escape(json.dumps(body, indent=1, default=str)[:200000])}</pre>
</body></html>"""
