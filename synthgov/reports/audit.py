"""audit.html: shares against the reference population, base rates, proxies, drift, every finding."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from synthgov.params import Params
from synthgov.reports.common import checks_table, figure_html, fmt, table

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
    parts = [figure_html(fig)]
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
    parts.append(figure_html(fig))
    return "".join(parts)


def audit_html(report: dict[str, Any], params: Params) -> str:
    """The audit report as one self-contained HTML page (aggregates over groups of >= k rows)."""
    import matplotlib

    matplotlib.use("Agg")
    checks = checks_table(report, "finding")
    failed = table([(str(e["column"]), e["expectation"], str(e.get("unexpected_count", "")))
                     for e in report["contract"]["expectations"] if not e["success"]],
                    ("column", "expectation", "unexpected values (count)"))
    idents = table([(f["column"], "; ".join(f["reasons"]), "trained" if f["trained"] else "excluded")
                     for f in report["identifiers"]], ("column", "why", "decision"))
    proxies = table([(a, fmt(v["roc_auc"]), fmt(v["balanced_accuracy"]), fmt(v["majority_baseline"]),
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
