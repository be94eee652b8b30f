"""Reading sources: the bundled UCI Adult files, or a user's CSV or Parquet file.

Every reader returns a DataFrame whose categorical columns are strings (missing as NaN) and whose
numeric columns are floats, in the column order of the declared schema. A file that cannot be
read, or lacks a declared column, raises SourceError naming the file, the column and the fix.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from synthgov.errors import SourceError
from synthgov.params import ColumnSchema

REPO_DATA = Path(__file__).resolve().parents[2] / "data" / "raw"
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
    "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week",
    "native_country", "income",
]


def adult_paths(data_dir: Path = REPO_DATA) -> tuple[Path, Path]:
    """The bundled UCI Adult train and test files (CC BY 4.0, see data/README.md)."""
    train, test = data_dir / "adult.data.gz", data_dir / "adult.test.gz"
    for path in (train, test):
        if not path.is_file():
            raise SourceError(f"{path}: the bundled Adult file is missing; restore data/raw from git")
    return train, test


def read_adult(path: Path) -> pd.DataFrame:
    """Read a UCI Adult file (train or test format: the test file has a header line and '.')."""
    df = pd.read_csv(
        path, header=None, names=ADULT_COLUMNS, skipinitialspace=True, na_values="?",
        comment="|", dtype=str,
    )
    df["income"] = df["income"].str.rstrip(".")
    return df


def _fingerprint(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _stable(path: Path, read):
    """Read a file, and refuse the result if the file changed while it was read (a writer was
    still at work: the rows could be partial)."""
    before = _fingerprint(path)
    df = read(path)
    if _fingerprint(path) != before:
        raise SourceError(f"{path}: the file changed while it was read; wait until it is completely "
                          "written (or move it into place when complete) and run again")
    return df


def _check_names(path: Path, df: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces around column names; refuse duplicate or empty ones (pandas renames a repeated
    name 'x' to 'x.1')."""
    df = df.rename(columns=lambda c: str(c).strip())
    names = [str(c) for c in df.columns]
    repeated = sorted({n.rsplit(".", 1)[0] for n in names if "." in n and n.rsplit(".", 1)[1].isdigit()
                       and n.rsplit(".", 1)[0] in names} | {n for n in names if names.count(n) > 1})
    if repeated:
        raise SourceError(f"{path}: column name(s) {repeated} appear more than once; give every column "
                          "a unique name")
    unnamed = [n for n in names if n.startswith("Unnamed: ") or not n.strip()]
    if unnamed:
        raise SourceError(f"{path}: {len(unnamed)} column(s) have no name in the header; name every "
                          "column (or check that the first line is the header)")
    return df


NA_VALUES = ("", "?", "NA")
CSV_CHUNK_ROWS = 200_000  # rows of a CSV source read at once


def shared_strings(series: pd.Series) -> pd.Series:
    """`series` (object) with equal values held as one object: a column of a few labels over
    millions of rows then costs a pointer a cell instead of a string object each.

    >>> s = shared_strings(pd.Series(["a" + str(i % 2) for i in range(4)] + [None]))
    >>> s.tolist()[:4], s[0] is s[2], pd.isna(s[4])
    (['a0', 'a1', 'a0', 'a1'], True, True)
    """
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
    values = np.append(np.asarray(uniques, dtype=object), np.nan)  # code -1 (missing) reads the NaN
    return pd.Series(values[codes], index=series.index, name=series.name, dtype=object)


def read_table(path: str | Path, *, header: bool = True, na_values: list[str] | tuple[str, ...] = NA_VALUES
               ) -> pd.DataFrame:
    """Read a CSV or Parquet source file, every column as read (conformed later).

    A CSV without a header line (`header=False`) gets the column names c0, c1, ...; `na_values`
    are the cells read as missing (CSV only)."""
    path = Path(path)
    if path.is_dir() or not path.exists():
        raise SourceError(f"{path}: source file not found; pass an existing CSV or Parquet file")
    suffix = "".join(path.suffixes[-2:]).lower()
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: the file is empty; pass a CSV with a header line and rows, or a Parquet file")
    try:
        if suffix.endswith(".parquet") or suffix.endswith(".pq"):
            return _check_names(path, _stable(path, pd.read_parquet))
        if ".csv" in suffix or ".gz" in suffix:
            def read(p):
                options = dict(dtype=str, skipinitialspace=True, na_values=list(na_values),
                               keep_default_na=False, header=0 if header else None)
                # in chunks, each cell's text shared with its equals as it is read: a few million
                # rows of labels take 8 bytes a cell, not a string object each
                frames = [chunk.apply(shared_strings) for chunk in pd.read_csv(p, chunksize=CSV_CHUNK_ROWS, **options)]
                df = pd.concat(frames, ignore_index=True) if frames else pd.read_csv(p, nrows=0, **options)
                return df.rename(columns=lambda i: f"c{i}") if not header else df
            return _check_names(path, _stable(path, read))
    except SourceError:
        raise
    except (OSError, ValueError, EOFError, zlib.error, pd.errors.ParserError) as exc:
        raise SourceError(f"{path}: cannot be read as {suffix or 'a table'} ({type(exc).__name__}); "
                          "check that the file is a valid CSV or Parquet file") from None
    raise SourceError(f"{path}: unsupported file type '{suffix}'; use .csv or .parquet")


def read_source(path: str | Path, fmt: str, *, header: bool = True,
                na_values: list[str] | tuple[str, ...] = NA_VALUES) -> pd.DataFrame:
    """Read a source in the declared format ('uci-adult' or 'auto' by extension)."""
    if fmt == "uci-adult":
        if not Path(path).is_file():
            raise SourceError(f"{path}: source file not found; set data.source in params/data.yaml")
        return read_adult(Path(path))
    return read_table(path, header=header, na_values=na_values)


def conform(df: pd.DataFrame, schema: dict[str, ColumnSchema], origin: str
            ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Select and type the declared columns, in schema order.

    Returns the typed frame and, per numeric column, how many values were not finite numbers (they
    become missing, and the audit's data contract fails on them). A missing declared column raises
    SourceError naming the file, the columns and the fix.
    """
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise SourceError(f"{origin}: missing declared column(s) {missing}; add them to the file, "
                          "or remove them from params/schema.yaml")
    out, type_errors = {}, {}
    for col, spec in schema.items():
        series = df[col]
        if spec.type == "numeric":
            values = pd.to_numeric(series, errors="coerce")
            values = values.where(np.isfinite(values.astype(float)) | values.isna())  # +-inf is not a number
            bad = int((values.isna() & series.notna()).sum())
            if bad:
                type_errors[col] = bad
            out[col] = values.astype(float)
        else:
            # a code written as a float ("1.0", as pandas writes an integer column with NaNs) is the code "1"
            text = series.astype("string").str.strip().str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
            out[col] = shared_strings(text.astype(object).where(series.notna(), np.nan))
    return pd.DataFrame(out, index=df.index).reset_index(drop=True), type_errors


def content_hash(df: pd.DataFrame) -> str:
    """A SHA-256 of the whole table (every row, column names and order), independent of file format.

    >>> a = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", None]})
    >>> content_hash(a) == content_hash(a.copy())
    True
    >>> content_hash(a) == content_hash(a.iloc[::-1])
    False
    """
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, df.columns)).encode())
    row_hashes = pd.util.hash_pandas_object(df, index=False).to_numpy()
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()
