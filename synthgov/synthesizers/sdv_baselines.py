"""Optional non-DP baselines from SDV (Business Source License 1.1): epsilon = inf, always.

SDV is imported only when one of these is chosen, and its detected metadata (which stores real
min/max values and category lists) never reaches the DP path. These baselines exist to compare
against; the privacy gate (a finite epsilon cap) refuses to promote them.
"""

from __future__ import annotations

import json
import math
import pickle
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthgov.errors import RegistryError
from synthgov.params import Params

_TABLE = "source"


class _SDVBaseline:
    name = ""
    dp = False
    _class = ""

    def __init__(self) -> None:
        self.model = None

    def _make(self, metadata, params: Params):
        raise NotImplementedError

    def fit(self, df: pd.DataFrame, params: Params, randomness=None) -> dict[str, Any]:
        try:
            from sdv.metadata import Metadata
        except ImportError:
            raise RegistryError(f"synthesizer '{self.name}' needs SDV: pip install -e '.[sdv]' "
                                "(Business Source License 1.1)") from None
        metadata = Metadata.detect_from_dataframes({_TABLE: df})
        self.model = self._make(metadata, params)
        started = time.perf_counter()
        self.model.fit({_TABLE: df})
        self.trained_rows = np.arange(len(df))
        return {"synthesizer": self.name, "rows_trained": len(df), "rows_released": len(df), "epsilon": math.inf,
                "delta": 0.0, "neighbouring": params.privacy.neighbouring, "randomness": "not DP",
                "test_mode": params.privacy.test_mode, "train_seconds": time.perf_counter() - started,
                "accountant": "none"}

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        import numpy as np
        import torch

        np.random.seed(seed)
        torch.manual_seed(seed)
        out = self.model.sample(num_rows=n)
        return (out[_TABLE] if isinstance(out, dict) else out).reset_index(drop=True)

    def save(self, model_dir: Path) -> None:
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / "meta.json").write_text(json.dumps({"name": self.name}))
        with open(model_dir / "model.pkl", "wb") as fh:
            pickle.dump(self.model, fh)

    @classmethod
    def load(cls, model_dir: Path) -> "_SDVBaseline":
        self = cls()
        with open(model_dir / "model.pkl", "rb") as fh:
            self.model = pickle.load(fh)  # noqa: S301 - our own artifact, written by save()
        return self


class GaussianCopulaBaseline(_SDVBaseline):
    name = "sdv-gaussiancopula"

    def _make(self, metadata, params):
        from sdv.single_table import GaussianCopulaSynthesizer

        return GaussianCopulaSynthesizer(metadata)


class CTGANBaseline(_SDVBaseline):
    name = "sdv-ctgan"

    def _make(self, metadata, params):
        from sdv.single_table import CTGANSynthesizer

        return CTGANSynthesizer(metadata, epochs=max(1, int(params.train.epochs)))


class TVAEBaseline(_SDVBaseline):
    name = "sdv-tvae"

    def _make(self, metadata, params):
        from sdv.single_table import TVAESynthesizer

        return TVAESynthesizer(metadata, epochs=max(1, int(params.train.epochs)))
