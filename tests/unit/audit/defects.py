"""Defects planted in real Adult rows by the audit tests."""

from __future__ import annotations

import numpy as np


def _record_number(df):
    return df.assign(record_id=np.arange(100000, 100000 + len(df)))


def _email(df):
    return df.assign(contact=[f"person{i}@example.org" for i in range(len(df))])


def _drop(df):
    return df.drop(columns=["education"])


def _women_rare(df):
    women = df.index[df["sex"] == "Female"]
    return df.drop(index=women[10:]).reset_index(drop=True)


def _independent(df):
    rng = np.random.default_rng(0)
    return df.assign(income=rng.permutation(df["income"].to_numpy()))
