"""Privacy: what the (epsilon, delta) claim of a release rests on, and what checks it.

- `accounting`: DP-SGD noise calibration and epsilon spent (Opacus' PRV and RDP accountants);
- `mechanisms`: the DP estimators synthgov runs itself (noisy histograms, DP quantiles): with
  Opacus' DPOptimizer, the only places where noise is added;
- `preprocessing`: the schema the model sees, from declarations and DP estimates only;
- `ledger`: the privacy budget spent per source version, across runs;
- `canary`: an empirical lower bound on the epsilon a training run really spent.

The package may import synthgov.params, synthgov.checks and synthgov.errors; it never imports a
synthesizer (a synthesizer imports it).
"""
