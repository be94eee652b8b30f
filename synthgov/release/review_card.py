"""The full dataset card of a release, for the data owner and reviewers (review/<id>/card.md, card.json).

It extends the public card (synthgov.release.card) with what only reviewers may read, because it
is computed from the private rows without DP: the source's content hash and DVC md5, every gate's
score, threshold, interval and severity, the bias audit summary (each protected group's share
against the reference population, and disparate impact), and the known limits (groups under k,
named but never counted, and the warn gates that failed). It is shipped in the review bundle and
logged to MLflow (the run's artifacts and the model version's description), never in the release.
"""

from __future__ import annotations

from typing import Any

UNDER_K = "under k"


def _gate(r: dict[str, Any]) -> dict[str, Any]:
    b = r.get("breakdown") or {}
    return {"name": r["name"], "stage": r.get("stage"), "severity": r["severity"], "passed": r["passed"],
            "verdict": r.get("verdict", "pass" if r["passed"] else "fail"),
            "score": r["score"], "threshold": r["threshold"], "goal": r.get("goal"),
            "interval": b.get("interval"), "bound": b.get("bound"), "driven_by": b.get("driven_by"),
            "resolve": (b.get("undecidable") or {}).get("resolve")}


def _bias(audit: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for attr, b in (audit.get("bias") or {}).items():
        under = set(b.get("groups_under_k") or [])
        out[attr] = {"disparate_impact": b.get("disparate_impact"),
                     "disparate_impact_flag": b.get("disparate_impact_flag"),
                     "groups": {g: (UNDER_K if g in under else
                                    {"share": v.get("share"), "reference_share": v.get("reference_share"),
                                     "reference_gap_flag": v.get("reference_gap_flag")})
                                for g, v in (b.get("groups") or {}).items()}}
    return out


def review_card(public: dict[str, Any], *, snapshot: dict[str, Any], lineage: dict[str, str],
                gates: list[dict[str, Any]], audit: dict[str, Any] | None, approval: dict[str, Any]) -> dict[str, Any]:
    """The reviewer's card: the public card plus the private-data statistics a review needs."""
    gate_rows = [_gate(r) for r in gates]
    under_k = {attr: [g for g, v in b["groups"].items() if v == UNDER_K] for attr, b in _bias(audit or {}).items()}
    return {
        **public,
        "title": f"Dataset card of synthetic release {public['release_id']} (review copy)",
        "audience": "the data owner and the reviewers they appoint: holds statistics of the private data",
        "source": {"source_hash": lineage.get("source_hash"), "dvc_md5": lineage.get("dvc_md5_source_snapshot"),
                   "path": snapshot.get("source"), "snapshot_at": lineage.get("snapshot_at"),
                   "training_rows": snapshot.get("train_rows"), "holdout_rows": snapshot.get("holdout_rows"),
                   "holdout": snapshot.get("holdout_split")},
        "approval": approval,
        "gates": gate_rows,
        "bias_audit": _bias(audit or {}),
        "known_limits": {"groups_under_k": {a: g for a, g in under_k.items() if g},
                         "failed_warn_gates": [g["name"] for g in gate_rows
                                               if g["verdict"] == "fail" and g["severity"] == "warn"],
                         "undecidable_gates": {g["name"]: g["resolve"] for g in gate_rows
                                               if g["verdict"] == "undecidable"}},
    }


def _num(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def _interval(iv: Any) -> str:
    if isinstance(iv, dict) and "lower" in iv:
        return f"[{_num(iv['lower'])}, {_num(iv['upper'])}]"
    return ""


def review_markdown(card: dict[str, Any]) -> str:
    """card.md of the review bundle (also the MLflow model version's description)."""
    p, src = card["privacy"], card["source"]
    failed = [g for g in card["gates"] if not g["passed"]]
    lines = [
        f"# {card['title']}", "", f"**{card['notice']}**", "",
        f"_Review copy, for {card['audience']}. The public card is releases/{card['release_id']}/card.md._", "",
        f"- Release `{card['release_id']}`, created {card['created_at']}, expires {card['expires_at']}",
        f"- Source: sha256 `{src['source_hash']}`, DVC md5 `{src['dvc_md5']}`, {src['training_rows']} training "
        f"rows, {src['holdout_rows']} holdout rows ({src['holdout']})",
        f"- Generator: {card['generator']['synthesizer']}, code `{card['generator'].get('commit')}`, params "
        f"`{str(card['generator'].get('params_hash'))[:12]}`",
        f"- Privacy: ε = {p['epsilon']:.4g}, δ = {p['delta']:.3g}, {p['neighbouring']} neighbours",
        f"- Approval: {card['approval'].get('decision') or 'not required'}"
        + (f" by {card['approval'].get('reviewer')}: {card['approval'].get('note')}"
           if card["approval"].get("reviewer") else ""), "",
        "## Gates", "",
        f"{len(card['gates']) - len(failed)} of {len(card['gates'])} passed"
        + (": failed " + ", ".join(f"{g['name']} ({g['severity']})" for g in failed) if failed else "."), "",
        "| gate | severity | score | threshold | interval | verdict |", "|---|---|---|---|---|---|",
        *[f"| {g['name']} | {g['severity']} | {_num(g['score'])} | {_num(g['threshold'])} | "
          f"{_interval(g['interval'])} | "
          f"{'pass' if g['passed'] else 'FAIL'} |" for g in card["gates"]], "",
        "## Bias audit of the source", "",
    ]
    for attr, b in card["bias_audit"].items():
        groups = ", ".join(f"{g} {UNDER_K}" if v == UNDER_K else
                           f"{g} {v['share']:.1%}" + (f" (reference {v['reference_share']:.1%})"
                                                      if v.get("reference_share") is not None else "")
                           for g, v in b["groups"].items())
        lines.append(f"- {attr}: disparate impact {_num(b['disparate_impact'])}; {groups}")
    limits = card["known_limits"]
    lines += ["", "## Known limits", "",
              *[f"- {a}: groups under k ({', '.join(g)}): too small to describe or synthesize faithfully"
                for a, g in limits["groups_under_k"].items()],
              *[f"- warn gate failed: {g}" for g in limits["failed_warn_gates"]],
              *[f"- undecidable at this sample size: {g} (would resolve it: {why})"
                for g, why in limits.get("undecidable_gates", {}).items()],
              "" if limits["groups_under_k"] or limits["failed_warn_gates"] or limits.get("undecidable_gates")
              else "- none recorded", "",
              "## Intended uses", "", *[f"- {u}" for u in card["intended_uses"]], "",
              "## Prohibited uses", "", *[f"- {u}" for u in card["prohibited_uses"]], ""]
    return "\n".join(lines)
