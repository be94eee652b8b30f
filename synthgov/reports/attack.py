"""attack.html: DCR histograms, membership-inference ROC curves, risk bars, every check."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from synthgov.reports.common import checks_table, figure_html

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
    return figure_html(fig)


def attack_html(report: dict[str, Any], distances: dict[str, np.ndarray]) -> str:
    """The attack report as one self-contained HTML page (aggregates only)."""
    import matplotlib

    matplotlib.use("Agg")
    checks = checks_table(report, "gate")
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
