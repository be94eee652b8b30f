"""The public dataset card of a release (card.json, card.md): what anyone who gets the data may read.

It holds only public facts and DP outputs: that the data is synthetic, the generator and code
version, the opaque source version id, the (epsilon, delta) claim with its neighbouring relation
and slices, the DP row counts, and the names of the blocking gates the release had to pass (a
release exists only if all of them passed, so listing them reveals nothing). Scores, intervals,
group counts and every other statistic computed from the private rows without DP go to the
review bundle instead (synthgov.release.promote).
"""

from __future__ import annotations

from typing import Any

NOTICE = ("SYNTHETIC DATA. Every row was sampled from a model trained with differential privacy; no row "
          "describes a real person, and no row may be used to take decisions about one.")


def _guarantee(privacy: dict[str, Any]) -> str:
    if privacy["neighbouring"] == "replace-one":
        return (f"({privacy['epsilon']:.3g}, {privacy['delta']:.2g})-differential privacy for replace-one "
                "neighbours: whatever else an adversary knows, including every other row, the code, the "
                "params and this card, replacing any one person's row by another changes the probability "
                f"of any outcome by at most a factor e^{privacy['epsilon']:.3g} (plus delta). The number of "
                "rows is treated as public.")
    return (f"({privacy['epsilon']:.3g}, {privacy['delta']:.2g})-differential privacy for add-remove "
            "neighbours: whatever else an adversary knows, including every other row, the code, the params "
            "and this card, adding or removing any one person's row changes the probability of any outcome "
            f"by at most a factor e^{privacy['epsilon']:.3g} (plus delta). Even the number of rows is "
            "released only as a DP count.")


def public_card(*, release_id: str, created_at: str, previous_release: str | None, source_version: str,
                training: dict[str, Any], blocking_gates: list[str], code: dict[str, str],
                expires_at: str, uses: dict[str, list[str]], approval: dict[str, Any]) -> dict[str, Any]:
    """The card of a promoted release, from the training report's DP outputs and public facts."""
    budget = training.get("budget", {})
    privacy = {
        "epsilon": training["epsilon"], "delta": training["delta"], "neighbouring": training["neighbouring"],
        "accountant": training.get("accountant"), "randomness": training.get("randomness"),
        "slices": {"counts": budget.get("count_epsilon", 0.0),
                   "preprocessing": training.get("preprocessing", {}).get("epsilon", 0.0),
                   "schema": budget.get("schema_epsilon", 0.0),
                   "training": training.get("epsilon_training", training["epsilon"])},
        "noise_multiplier": training.get("noise_multiplier"), "steps": training.get("steps"),
        "sample_rate": training.get("sample_rate"), "max_grad_norm": training.get("max_grad_norm"),
    }
    privacy["guarantee"] = _guarantee(privacy)
    basis = ("public row count (replace-one neighbours)" if training["neighbouring"] == "replace-one"
             else "DP count of the training rows (Laplace)")
    return {
        "title": f"Synthetic data release {release_id}", "synthetic": True, "notice": NOTICE,
        "release_id": release_id, "created_at": created_at, "expires_at": expires_at,
        "previous_release": previous_release, "source_version": source_version,
        "intended_uses": uses["intended"], "prohibited_uses": uses["prohibited"],
        "approval": {k: approval.get(k) for k in ("required", "decision", "reviewer", "at")},
        "generator": {"synthesizer": training["synthesizer"], **code},
        "privacy": privacy,
        "rows": {"synthetic": training["rows_released"], "basis": basis,
                 "dp_rows_outside_schema": training.get("dp_counts", {}).get("rows_outside_schema")},
        "gates_required": sorted(blocking_gates),
        "review": "Audit, validation and attack reports, with every score and interval, are statistics of the "
                  "private data computed without DP: they are kept for the data owner in the review bundle "
                  "and are not part of this release.",
    }


def card_markdown(card: dict[str, Any]) -> str:
    """card.md: the same facts as card.json, for people."""
    p, rows = card["privacy"], card["rows"]
    lines = [
        f"# {card['title']}", "", f"**{card['notice']}**", "",
        f"- Release: `{card['release_id']}`, created {card['created_at']}"
        + (f", succeeds `{card['previous_release']}`" if card["previous_release"] else ""),
        f"- Source version: `{card['source_version']}` (an opaque id; the data owner can match it)",
        f"- Generator: {card['generator']['synthesizer']}, synthgov {card['generator'].get('version')}, "
        f"code `{card['generator'].get('commit')}`, params `{str(card['generator'].get('params_hash'))[:12]}`",
        f"- Rows: {rows['synthetic']} ({rows['basis']})",
        f"- Expires: {card['expires_at']} (synthetic data is perishable: do not use it after this date)",
        f"- Approval: {_approval_line(card['approval'])}", "",
        *_uses(card),
        "## Privacy", "", p["guarantee"], "",
        f"- epsilon {p['epsilon']:.4g} = counts {p['slices']['counts']:.3g} + preprocessing "
        f"{p['slices']['preprocessing']:.3g} + training {p['slices']['training']:.4g}; delta {p['delta']:.3g}",
        f"- DP-SGD: {p['steps']} steps, sampling rate {p['sample_rate']}, clipping {p['max_grad_norm']}, noise "
        f"multiplier {p['noise_multiplier']:.4g}, accountant {p['accountant']}" if p["noise_multiplier"] else
        "- DP-SGD: none",
        f"- Randomness: {p['randomness']}", "",
        "## Governance", "",
        "Promoted because every blocking gate passed: " + ", ".join(card["gates_required"]) + ".", "",
        card["review"], "",
    ]
    return "\n".join(lines)


def _approval_line(approval: dict[str, Any]) -> str:
    if not approval.get("required"):
        return "not required by the data owner's params (release.require_approval: false)"
    return f"{approval.get('decision')} by {approval.get('reviewer')} at {approval.get('at')}"


def _uses(card: dict[str, Any]) -> list[str]:
    return ["## Intended uses", "", *[f"- {u}" for u in card["intended_uses"]], "",
            "## Prohibited uses", "", *[f"- {u}" for u in card["prohibited_uses"]], ""]
