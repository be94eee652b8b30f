"""Fit one peer on a training CSV and write its synthetic rows: the part of benchmarks/peers.py that
runs inside the peer's own virtual environment (the standard library, pandas and the peer's
package only; the synthgov and SDV peers run in synthgov's environment).

    python benchmarks/peer_fit.py PEER --train train.csv --domain domain.json --epsilon 1 \\
        --delta 1e-5 --seed 0 --rows 5000 --max-epochs 100 --out synthetic.csv --report report.json

PEER is one of PEERS below; `--epsilon inf` asks for the peer's non-DP mode (refused where it has
none). domain.json is the public domain, from params/schema.yaml alone: for each column its type,
categories (categorical) or declared bounds (numeric). Each peer gets it where its API accepts one,
so none spends budget on, or reads from the rows, what the schema declares. report.json says the
epsilon the peer itself reports spending (None without DP), how many epochs it trained, and the
fitting process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

PEERS = ("synthgov", "dpmm-mst", "dpmm-aim", "dpmm-privbayes", "mostlyai", "sdv-gaussiancopula")
NON_DP = ("sdv-gaussiancopula",)  # no DP mode: only at epsilon inf


def _dpmm(kind: str, train: pd.DataFrame, domain: dict, epsilon: float, delta: float, seed: int,
          rows: int) -> tuple[pd.DataFrame, dict]:
    """dpmm's end-to-end DP marginal models. Numeric columns are cut into 32 uniform bins between
    the declared bounds (no budget spent on binning), categories are the declared lists."""
    from dpmm.pipelines import AIMPipeline, MSTPipeline, PrivBayesPipeline

    cls = {"mst": MSTPipeline, "aim": AIMPipeline, "privbayes": PrivBayesPipeline}[kind]
    public = {c: ({"categories": spec["categories"]} if spec["type"] == "categorical"
                  else {"lower": spec["lower"], "upper": spec["upper"]}) for c, spec in domain["columns"].items()}
    pipe = cls(epsilon=epsilon, delta=delta, proc_epsilon=None, binner_type="uniform", n_bins=32, n_jobs=1)
    pipe.fit(train, domain=public, random_state=seed)
    synthetic = pipe.generate(n_records=rows, random_state=seed + 1)
    return synthetic, {"epsilon": epsilon, "delta": delta, "epochs": None}


def _mostlyai(train: pd.DataFrame, domain: dict, epsilon: float, delta: float, seed: int, rows: int,
              max_epochs: int, workdir: Path) -> tuple[pd.DataFrame, dict]:
    """MOSTLY AI's open engine (TabularARGN). With DP, a tenth of epsilon goes to its DP value
    protection (it reads value ranges and rare categories with DP; its API takes no declared
    domain) and DP-SGD stops when the total reaches epsilon, or at max_epochs; the epsilon spent is
    the total it reports for its last epoch within the budget (the checkpoint it keeps is one of
    those, chosen by its loss on a fifth of the rows it holds out for validation)."""
    from mostlyai import engine
    from mostlyai.engine.domain import DifferentialPrivacyConfig

    engine.init_logging()
    ws = workdir / "mostlyai"
    dp = None if math.isinf(epsilon) else DifferentialPrivacyConfig(
        max_epsilon=epsilon, value_protection_epsilon=0.1 * epsilon, delta=delta)
    engine.split(workspace_dir=ws, tgt_data=train, model_type="TABULAR")
    engine.analyze(workspace_dir=ws, differential_privacy=dp)
    engine.encode(workspace_dir=ws)
    engine.train(workspace_dir=ws, max_epochs=max_epochs, enable_flexible_generation=False,
                 differential_privacy=dp)
    engine.generate(workspace_dir=ws, sample_size=rows)
    synthetic = pd.concat([pd.read_parquet(p) for p in sorted((ws / "SyntheticData").glob("*.parquet"))],
                          ignore_index=True)
    spent, epochs = None, None
    for progress in ws.rglob("progress-messages.csv"):
        log = pd.read_csv(progress)
        epochs = float(log["epoch"].max())
        if dp is not None:
            within = log.loc[log["dp_eps"] <= epsilon, "dp_eps"]
            spent = float(within.max() if len(within) else log["dp_eps"].max())
    return synthetic, {"epsilon": spent, "delta": None if dp is None else delta, "epochs": epochs}


def _synthgov(name: str, train: pd.DataFrame, epsilon: float, seed: int, rows: int) -> tuple[pd.DataFrame, dict]:
    """synthgov's generators with the repository's params (Adult's), secret DP randomness."""
    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo))
    from synthgov.ingest.readers import conform
    from synthgov.params import load_params
    from synthgov.privacy.randomness import dp_randomness
    from synthgov.synthesizers import get_synthesizer

    generator = "dp-autoregressive" if name == "synthgov" else name
    params = load_params(repo / "params", {"privacy.epsilon": epsilon, "train.synthesizer": generator})
    train, _ = conform(train, params.schema_, "train.csv")
    synth = get_synthesizer(generator)()
    report = synth.fit(train, params, dp_randomness(False, seed)) if generator == "dp-autoregressive" \
        else synth.fit(train, params)
    synthetic = synth.sample(rows, seed=seed)
    spent = report.get("epsilon")
    return synthetic, {"epsilon": None if spent is None or math.isinf(spent) else spent,
                       "delta": report.get("delta"), "epochs": report.get("epochs")}


def _peak_rss_mib() -> float | None:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: a child started by vfork
    inherits there the peak of its parent (the benchmark, with its tables) across the exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("peer", choices=PEERS)
    parser.add_argument("--train", required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--epsilon", type=float, required=True)
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--out", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args()
    if args.peer in NON_DP and not math.isinf(args.epsilon):
        parser.error(f"{args.peer} has no DP mode: run it at --epsilon inf")
    domain = json.loads(Path(args.domain).read_text())
    dtypes = {c: "object" for c, spec in domain["columns"].items() if spec["type"] == "categorical"}
    train = pd.read_csv(args.train, dtype=dtypes, keep_default_na=False, na_values=[""])
    if args.peer.startswith("dpmm-"):
        synthetic, report = _dpmm(args.peer.removeprefix("dpmm-"), train, domain, args.epsilon, args.delta,
                                  args.seed, args.rows)
    elif args.peer == "mostlyai":
        synthetic, report = _mostlyai(train, domain, args.epsilon, args.delta, args.seed, args.rows,
                                      args.max_epochs, Path(args.out).parent)
    else:
        synthetic, report = _synthgov(args.peer, train, args.epsilon, args.seed, args.rows)
    synthetic = synthetic[list(domain["columns"])].copy()
    for col, spec in domain["columns"].items():  # public post-processing: declared bounds and integers
        if spec["type"] == "numeric":
            values = pd.to_numeric(synthetic[col], errors="coerce").clip(spec["lower"], spec["upper"])
            synthetic[col] = values.round() if spec.get("integer") else values
    synthetic.to_csv(args.out, index=False)
    Path(args.report).write_text(json.dumps({**report, "peak_rss_mib": _peak_rss_mib()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
