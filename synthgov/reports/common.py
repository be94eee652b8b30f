"""What every HTML report shares: embedded figures, tables, check tables and number formatting."""

from __future__ import annotations

import base64
import html
import io
from typing import Any


def figure_html(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"/>'


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _verdict(c: dict[str, Any]) -> str:
    verdict = c.get("verdict") or ("pass" if c["passed"] else "fail")
    b = c.get("breakdown") or {}
    text = {"pass": "passed", "fail": "FAILED", "undecidable": "UNDECIDABLE at this sample size"}[verdict]
    if verdict != "pass" and b.get("driven_by"):
        text += f"; driven by {b['driven_by']}"
    if verdict == "undecidable":
        text += f"; would resolve it: {b['undecidable']['resolve']}"
    elif verdict == "fail" and b.get("remedy"):
        text += f"; would fix it: {b['remedy']}"
    return text


def checks_table(report: dict[str, Any], label: str) -> str:
    return table([(c["name"], fmt(c["score"]), fmt(c["threshold"]), c["goal"], c["severity"], _verdict(c))
                  for c in report.get("checks", [])],
                 (label, "score", "threshold", "goal", "severity", "verdict"))


def fmt(x: Any) -> str:
    return f"{x:.4f}" if isinstance(x, float) else str(x)
