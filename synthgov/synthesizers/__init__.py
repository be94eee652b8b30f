"""Synthesizers: the generators, the public-schema encoder they share, and their registry.

- `encoding`: maps declared columns to integer codes and back, built from the schema alone;
- `dpar`: the default DP-SGD autoregressive synthesizer (Opacus), with fairness-aware sampling;
- `sdv_baselines`: optional SDV baselines (Business Source License 1.1), non-DP (epsilon = inf),
  imported only when chosen.

A name in params/train.yaml picks the implementation through the registry below. The package may
import synthgov.params, synthgov.privacy and synthgov.errors.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from synthgov.errors import RegistryError
from synthgov.params import Params


class Synthesizer(Protocol):
    """What every synthesizer provides: fit on real rows, sample, save and load."""

    name: str
    dp: bool

    def fit(self, df: pd.DataFrame, params: Params, randomness) -> dict[str, Any]: ...

    def sample(self, n: int, seed: int) -> pd.DataFrame: ...

    def save(self, model_dir: Path) -> None: ...


REGISTRY: dict[str, str] = {
    "dp-autoregressive": "synthgov.synthesizers.dpar:DPAutoregressive",
    "sdv-gaussiancopula": "synthgov.synthesizers.sdv_baselines:GaussianCopulaBaseline",
    "sdv-ctgan": "synthgov.synthesizers.sdv_baselines:CTGANBaseline",
    "sdv-tvae": "synthgov.synthesizers.sdv_baselines:TVAEBaseline",
}


def get_synthesizer(name: str) -> type:
    """The synthesizer class registered under `name`.

    >>> get_synthesizer("gan")
    Traceback (most recent call last):
    ...
    synthgov.errors.RegistryError: unknown synthesizer 'gan'; known: dp-autoregressive, sdv-ctgan, sdv-gaussiancopula, sdv-tvae (set train.synthesizer in params/train.yaml)
    """
    if name not in REGISTRY:
        raise RegistryError(
            f"unknown synthesizer '{name}'; known: {', '.join(sorted(REGISTRY))} "
            "(set train.synthesizer in params/train.yaml)"
        )
    module, _, attr = REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def load_synthesizer(model_dir: Path) -> Any:
    """Load a synthesizer saved by `save(model_dir)`, whichever implementation wrote it."""
    meta = json.loads((Path(model_dir) / "meta.json").read_text())
    return get_synthesizer(meta["name"]).load(Path(model_dir))
