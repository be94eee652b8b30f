"""Public tables other than Adult, as a data steward would bring them (for tests and benchmarks).

Four tables ship with statsmodels (public data sets, see statsmodels.datasets): the RAND health
insurance experiment (randhie), Fair's affairs survey (fair), the 1996 American National Election
Study (anes96) and a travel mode choice survey (modechoice). Each gets a record-number column, as
exported registers have, which `synthgov init` must find and exclude. Two generated files are
messy on purpose: a UCI-style export with no header, '?' for missing and labels that end in '.',
and a small cohort with many NaNs, an email column, a rare protected group and a float 0/1 target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Table:
    name: str
    target: str
    protected: list[str]
    identifiers: list[str]  # columns init must exclude
    positive_label: str | None = None
    init_flags: list[str] = field(default_factory=list)


def _statsmodels(name: str) -> pd.DataFrame:
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data


def _with_record_number(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return df.assign(record_no=rng.permutation(len(df)) + 100_000)[["record_no", *df.columns]]


def randhie() -> pd.DataFrame:
    return _with_record_number(_statsmodels("randhie"), 1)


def fair() -> pd.DataFrame:
    df = _statsmodels("fair")
    return _with_record_number(df.assign(had_affair=(df.pop("affairs") > 0).astype(int)), 2)


def anes96() -> pd.DataFrame:
    return _with_record_number(_statsmodels("anes96"), 3)


def modechoice() -> pd.DataFrame:
    return _with_record_number(_statsmodels("modechoice").drop(columns="individual"), 4)


PUBLIC = {
    "randhie": (randhie, Table("randhie", "idp", ["hlthp", "disea"], ["record_no"])),
    "fair": (fair, Table("fair", "had_affair", ["age", "educ"], ["record_no"])),
    "anes96": (anes96, Table("anes96", "vote", ["age", "educ"], ["record_no"])),
    "modechoice": (modechoice, Table("modechoice", "choice", ["hinc", "psize"], ["record_no"])),
}


def uci_export(adult_raw: pd.DataFrame, rows: int = 2000, seed: int = 0) -> str:
    """A headerless CSV text in the raw UCI style: '?' for missing, half the labels ending in '.'."""
    df = adult_raw.sample(n=rows, random_state=seed).reset_index(drop=True).astype(object)
    df = df.where(df.notna(), "?")
    dotted = np.random.default_rng(seed).random(rows) < 0.5
    df["income"] = np.where(dotted, df["income"].astype(str) + ".", df["income"].astype(str))
    return df.to_csv(index=False, header=False)


UCI_EXPORT = Table("uci-export", "c14", ["c9", "c8"], [], positive_label=">50K,>50K.", init_flags=["--no-header"])


def cohort(rows: int = 1000, seed: int = 0) -> pd.DataFrame:
    """A small epidemiological cohort: many NaNs, an email and a record number, one rare protected
    group (1 %), a float 0/1 target and a three-class grade."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, rows).astype(float)
    age[rng.random(rows) < 0.3] = np.nan
    group = rng.choice(["grp_a", "grp_b", "grp_rare"], rows, p=[0.6, 0.39, 0.01])
    bmi = np.round(rng.normal(27, 5, rows), 1)
    bmi[rng.random(rows) < 0.2] = np.nan
    smoker = rng.choice(["yes", "no", None], rows, p=[0.2, 0.6, 0.2])
    risk = 1 / (1 + np.exp(-(np.nan_to_num(age, nan=50) - 50) / 10 - (smoker == "yes")))
    outcome = (rng.random(rows) < risk).astype(float)  # written as 0.0 / 1.0
    grade = rng.choice(["A", "B", "C"], rows, p=[0.3, 0.5, 0.2])
    return pd.DataFrame({"record_no": np.arange(1, rows + 1), "email": [f"p{i}@clinic.example" for i in range(rows)],
                         "age": age, "group": group, "bmi": bmi, "smoker": smoker, "grade": grade,
                         "outcome": outcome})


COHORT = Table("cohort", "outcome", ["group", "age"], ["record_no", "email"])
COHORT_GRADE = Table("cohort-grade", "grade", ["group"], ["record_no", "email"], positive_label="A")


def write(df_or_text: pd.DataFrame | str, path: Path) -> Path:
    if isinstance(df_or_text, str):
        path.write_text(df_or_text)
    else:
        df_or_text.to_csv(path, index=False)
    return path
