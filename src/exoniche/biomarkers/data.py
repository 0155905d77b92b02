"""Measurement tables in: CSV, TSV, Parquet and Excel, wide or long, validated with named errors.

Every problem in a table is reported as a :class:`~exoniche.errors.DataError` that names the file, the column
and the rows concerned; nothing is dropped silently. Missing values are an error unless the caller asks for
``missing="drop"`` explicitly.

Row numbers are the ones a user sees in an editor or a spreadsheet: the header is row 1 and the first data
row is row 2 (for Parquet, the same numbering as if the table were exported to CSV). Tables built in memory
keep their own index labels, which messages then quote as ``index <label>``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from exoniche.errors import DataError, unknown

TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": None}
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
MISSING_POLICIES = ("error", "drop")
LONG_COLUMNS = ("patient", "time", "marker", "value")
_MAX_LISTED = 5
_FIRST_DATA_ROW = 2  # header is row 1, as in a spreadsheet


# --------------------------------------------------------------------------------------------- reading
def read_table(path: str | Path, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a measurement table from CSV, TSV, Parquet or Excel.

    Parameters
    ----------
    path
        File to read; the format is chosen by the suffix (``.csv``, ``.tsv``/``.tab``, ``.txt`` with the
        delimiter guessed from the header, ``.parquet``/``.pq``, ``.xlsx``/``.xlsm``) and checked against the
        file's first bytes.
    sheet
        Excel only: sheet name or 0-based position (default: the first sheet).

    Returns
    -------
    pandas.DataFrame
        Column names stripped of surrounding blanks; the index is the spreadsheet row number (header = 1), so
        that later error messages can name rows.

    Raises
    ------
    DataError
        Missing, empty, header-only, non-UTF-8, truncated or mislabelled files, ragged rows, duplicated or
        empty column names.
    """
    path = Path(path)
    source = path.name
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a table file")
    suffix = path.suffix.lower()
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{source}: file is empty")
    kind = _sniff(raw)
    if suffix in TEXT_SUFFIXES:
        if kind != "text":
            raise DataError(
                f"{source}: the suffix {suffix!r} says text, but the content is {kind}; rename the file"
            )
        df = _read_text(raw, source, TEXT_SUFFIXES[suffix])
    elif suffix in PARQUET_SUFFIXES:
        if kind != "parquet":
            raise DataError(f"{source}: the suffix {suffix!r} says Parquet, but the content is {kind}")
        df = _read_parquet(raw, source)
    elif suffix in EXCEL_SUFFIXES:
        if kind != "Excel (xlsx)":
            raise DataError(f"{source}: the suffix {suffix!r} says Excel, but the content is {kind}")
        df = _read_excel(raw, source, sheet)
    elif suffix == ".xls":
        raise DataError(f"{source}: legacy .xls is not supported; save it as .xlsx or CSV")
    else:
        allowed = sorted([*TEXT_SUFFIXES, *PARQUET_SUFFIXES, *EXCEL_SUFFIXES])
        raise unknown(source, suffix or "(no suffix)", allowed, DataError, what="table format")
    df.columns = [str(c).strip() for c in df.columns]
    _check_header(df.columns, source)
    if len(df) == 0:
        raise DataError(f"{source}: the file has a header but no data rows")
    df.index = pd.RangeIndex(_FIRST_DATA_ROW, _FIRST_DATA_ROW + len(df))
    df.attrs["source"] = source
    df.attrs["rows_numbered"] = True
    return df


def _sniff(raw: bytes) -> str:
    if raw[:4] == b"PAR1":
        return "parquet"
    if raw[:4] == b"PK\x03\x04":
        return "Excel (xlsx)"
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "legacy Excel (xls)"
    if b"\x00" in raw[:4096]:
        return "binary data"
    return "text"


def _read_text(raw: bytes, source: str, sep: str | None) -> pd.DataFrame:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{source}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} (byte {exc.start}); "
            "save the file as UTF-8"
        ) from None
    header_line = text.splitlines()[0] if text.splitlines() else ""
    if sep is None or (sep == "," and "," not in header_line):
        # a .txt file, or a "CSV" written with ; or tabs (spreadsheets in many locales do that)
        counts = {d: header_line.count(d) for d in (",", "\t", ";")}
        best = max(counts, key=counts.get)
        sep = best if counts[best] else (sep or ",")
    header = next(csv.reader([header_line], delimiter=sep)) if header_line else []
    _check_header([h.strip() for h in header], source)
    try:
        # ";"-separated files come from locales that write decimals with a comma
        decimal = "," if sep == ";" else "."
        df = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: file is empty") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{source}: malformed text table: {str(exc).strip()}") from None
    return df


def _read_parquet(raw: bytes, source: str) -> pd.DataFrame:
    if raw[-4:] != b"PAR1":
        raise DataError(f"{source}: truncated or damaged Parquet file (no footer); write it again")
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid / ArrowIOError derive from these
        raise DataError(f"{source}: unreadable Parquet file: {exc}") from None


def _read_excel(raw: bytes, source: str, sheet: str | int | None) -> pd.DataFrame:
    try:
        book = pd.ExcelFile(io.BytesIO(raw), engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise DataError(f"{source}: unreadable Excel file: {exc}") from None
    names = book.sheet_names
    if sheet is None:
        sheet = 0
    if isinstance(sheet, str) and sheet not in names:
        if sheet.isdigit() and int(sheet) < len(names):
            sheet = int(sheet)
        else:
            raise unknown(source, sheet, names, DataError, what="sheet", label="sheets")
    if isinstance(sheet, int) and not 0 <= sheet < len(names):
        raise DataError(f"{source}: sheet {sheet} does not exist; the workbook has {len(names)} sheet(s)")
    df = book.parse(sheet)
    if df.shape[1] == 0:
        raise DataError(f"{source}: sheet {names[sheet] if isinstance(sheet, int) else sheet!r} is empty")
    return df


def _check_header(columns: Sequence[str], source: str) -> None:
    seen: dict[str, int] = {}
    for pos, name in enumerate(columns, start=1):
        if name == "" or name.startswith("Unnamed: "):
            raise DataError(f"{source}: column {pos} has no name in the header")
        if name in seen:
            raise DataError(f"{source}: column name {name!r} appears twice (columns {seen[name]} and {pos})")
        seen[name] = pos


# --------------------------------------------------------------------------------------------- naming rows
def _source(df: pd.DataFrame, source: str | None) -> str:
    return source or df.attrs.get("source") or "table"


def describe_rows(df: pd.DataFrame, labels: Iterable) -> str:
    """'rows 4, 9 and 12' (file tables) or 'index a, b' (in-memory tables), listing at most five."""
    labels = list(labels)
    word = "row" if df.attrs.get("rows_numbered") else "index"
    shown = ", ".join(str(x) for x in labels[:_MAX_LISTED])
    more = f" and {len(labels) - _MAX_LISTED} more" if len(labels) > _MAX_LISTED else ""
    plural = "s" if len(labels) > 1 and word == "row" else ""
    return f"{word}{plural} {shown}{more}"


# --------------------------------------------------------------------------------------------- validation
def require_columns(df: pd.DataFrame, cols: Iterable[str], source: str | None = None) -> None:
    """Raise DataError for the first column in ``cols`` that the table lacks, with the closest name."""
    have = [str(c) for c in df.columns]
    for col in cols:
        if col not in df.columns:
            raise unknown(_source(df, source), col, have, DataError, what="column", label="columns")


def numeric_column(
    df: pd.DataFrame, col: str, source: str | None = None, missing: str = "error"
) -> pd.Series:
    """Column ``col`` as float, with non-numeric and missing cells reported by row.

    Parameters
    ----------
    missing
        ``"error"`` (default): any missing cell raises. ``"drop"``: rows with a missing cell are left out of
        the returned Series (its index still names the original rows, so callers can align columns).

    Raises
    ------
    DataError
        A cell that is not a number (always, whatever ``missing`` says), an infinite value, or a missing cell
        when ``missing="error"``.
    """
    _check_policy(missing)
    require_columns(df, [col], source)
    src = _source(df, source)
    raw = df[col]
    if isinstance(raw, pd.DataFrame):
        raise DataError(f"{src}: column name {col!r} appears more than once")
    if raw.dtype == bool:
        raw = raw.astype(float)
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    is_missing = _missing_cells(raw)
    bad = values.isna() & ~is_missing
    if bad.any():
        examples = ", ".join(repr(raw[lab]) for lab in raw.index[bad][:_MAX_LISTED])
        raise DataError(
            f"{src}: column {col!r} has non-numeric values at {describe_rows(df, raw.index[bad])}: {examples}"
        )
    inf = np.isinf(values.to_numpy())
    if inf.any():
        raise DataError(f"{src}: column {col!r} has infinite values at {describe_rows(df, raw.index[inf])}")
    return _apply_missing(df, values, is_missing, f"column {col!r}", src, missing)


def binary_outcome(
    df: pd.DataFrame, col: str, positive: object = None, source: str | None = None, missing: str = "error"
) -> pd.Series:
    """Outcome column as a boolean Series (True = case, the ``positive`` level).

    ``positive`` may be given as text (as on a command line) even when the column is numeric: "1" matches 1
    and 1.0. When it is omitted, a 0/1 or False/True column takes 1/True as the case level.

    Raises
    ------
    DataError
        Unknown column, missing outcomes (with ``missing="error"``), more than two levels, a positive level
        that is not in the column, or a column with no cases or no controls.
    """
    _check_policy(missing)
    require_columns(df, [col], source)
    src = _source(df, source)
    raw = df[col]
    raw = _apply_missing(df, raw, _missing_cells(raw), f"outcome column {col!r}", src, missing)
    labels = raw.map(_level_text)
    levels = sorted(pd.unique(labels))
    if len(levels) > 2:
        counts = labels.value_counts()
        listing = ", ".join(f"{lev!r} ({counts[lev]})" for lev in levels[:10])
        odd = labels[~labels.isin(counts.nlargest(2).index)]  # rows beyond the two main levels
        raise DataError(
            f"{src}: outcome column {col!r} has {len(levels)} levels ({listing}); it must have two "
            f"({', '.join(map(repr, sorted(odd.unique())))} at {describe_rows(df, odd.index)})"
        )
    if positive is None:
        if set(levels) <= {"0", "1"}:
            positive = "1"
        elif set(levels) <= {"False", "True"}:
            positive = "True"
        else:
            raise DataError(
                f"{src}: outcome column {col!r} has levels {', '.join(map(repr, levels))}; "
                "say which one is the case level (--positive)"
            )
    pos = _level_text(positive)
    if pos not in levels:
        # the positive level may be absent because every row is a control: say so in field words
        if len(levels) == 2:
            raise unknown(f"{src}: outcome column {col!r}", positive, levels, DataError, what="positive level",
                          label=None, note=f"; levels: {', '.join(map(repr, levels))}")
        raise DataError(
            f"{src}: outcome column {col!r} has no cases (no row equals positive level {positive!r}); "
            f"levels present: {', '.join(map(repr, levels))}"
        )
    y = labels.eq(pos)
    if not (~y).any():
        raise DataError(f"{src}: outcome column {col!r} has no controls: every row is {positive!r}")
    return y


def _missing_cells(raw: pd.Series) -> pd.Series:
    return raw.isna() | raw.astype(str).str.strip().eq("")


def _apply_missing(
    df: pd.DataFrame, values: pd.Series, is_missing: pd.Series, what: str, src: str, missing: str
) -> pd.Series:
    """Raise for missing cells (missing="error") or leave their rows out (missing="drop")."""
    if not is_missing.any():
        return values
    if missing == "error":
        raise DataError(
            f"{src}: {what} has missing values at {describe_rows(df, values.index[is_missing])}; "
            "fill them or choose --missing drop"
        )
    return values[~is_missing]


def _level_text(value: object) -> str:
    """Outcome levels compared as text, with 1, 1.0 and "1" all the same level."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def check_unique_ids(df: pd.DataFrame, col: str | Sequence[str], source: str | None = None) -> None:
    """Raise DataError when an id (or id combination, e.g. patient+time) occurs on more than one row."""
    cols = [col] if isinstance(col, str) else list(col)
    require_columns(df, cols, source)
    dup = df.duplicated(cols, keep=False)
    if dup.any():
        first = df.loc[dup, cols].iloc[0]
        same = df.index[(df[cols] == first.to_numpy()).all(axis=1)]
        what = ", ".join(f"{c}={_plain(first[c])!r}" for c in cols)
        n = int(df.loc[dup, cols].drop_duplicates().shape[0])
        raise DataError(
            f"{_source(df, source)}: duplicated id {what} at {describe_rows(df, same)}"
            + (f" ({n} ids are duplicated)" if n > 1 else "")
        )


def check_not_constant(values: pd.Series, name: str, source: str = "table") -> None:
    """Raise DataError when a marker takes a single value (it cannot separate anything)."""
    uniq = pd.unique(values.dropna())
    if len(uniq) <= 1:
        what = "no values"
        if len(uniq):
            what = f"the single value {_plain(uniq[0])!r}"
        raise DataError(f"{source}: marker {name!r} is constant ({what} on all {len(values)} rows)")


def _plain(value: object) -> object:
    """Numpy scalar -> Python scalar, so that messages read 6, not np.int64(6)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_policy(missing: str) -> None:
    if missing not in MISSING_POLICIES:
        raise unknown("missing", missing, MISSING_POLICIES, DataError)


# --------------------------------------------------------------------------------------------- combined
def outcome_and_markers(
    df: pd.DataFrame,
    outcome: str,
    markers: Sequence[str],
    positive: object = None,
    source: str | None = None,
    missing: str = "error",
    id_col: str | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Validate an outcome column and marker columns together; return ``(y, X)``.

    With ``missing="drop"`` a row missing the outcome or any listed marker is dropped from all of them (a
    complete-case analysis, so that paired comparisons use the same patients). The caller can see which rows
    were kept from ``X.index``.

    Returns
    -------
    y : numpy.ndarray of bool, True = case
    X : pandas.DataFrame of float, one column per marker, index = kept rows
    """
    src = _source(df, source)
    if not markers:
        raise DataError(f"{src}: no marker given (use --marker, once per marker)")
    dup = sorted({m for m in markers if list(markers).count(m) > 1})
    if dup:
        raise DataError(f"{src}: marker {dup[0]!r} is given more than once")
    require_columns(df, [outcome, *markers] + ([id_col] if id_col else []), src)
    if outcome in markers:
        raise DataError(f"{src}: column {outcome!r} is both the outcome and a marker")
    if id_col:
        check_unique_ids(df, id_col, src)
    y = binary_outcome(df, outcome, positive, src, missing)
    cols = {m: numeric_column(df, m, src, missing) for m in markers}
    keep = y.index
    for s in cols.values():
        keep = keep.intersection(s.index, sort=False)
    keep = df.index[df.index.isin(keep)]
    X = pd.DataFrame({m: s.loc[keep] for m, s in cols.items()}, index=keep)
    X.attrs = dict(df.attrs)
    y = y.loc[keep]
    if y.all() or not y.any():
        which = "controls" if y.all() else "cases"
        raise DataError(f"{src}: after dropping rows with missing values no {which} remain")
    for m in markers:
        check_not_constant(X[m], m, src)
    return y.to_numpy(dtype=bool), X


# --------------------------------------------------------------------------------------------- long format
def is_long(df: pd.DataFrame, columns: Sequence[str] = LONG_COLUMNS) -> bool:
    """Return True when the table has the long-format columns (patient, time, marker, value)."""
    return all(c in df.columns for c in columns)


def long_to_wide(
    df: pd.DataFrame,
    patient: str = "patient",
    time: str = "time",
    marker: str = "marker",
    value: str = "value",
    source: str | None = None,
    missing: str = "error",
) -> pd.DataFrame:
    """Pivot a long table (one row per patient, time and marker) to one row per patient and time.

    Returns a frame with columns ``patient``, ``time`` and one float column per marker (NaN where a marker was
    not measured at that visit; that is not a missing cell of the input). Duplicated (patient, time, marker)
    rows, non-numeric values and missing values (unless ``missing="drop"``) raise DataError naming the rows.
    """
    src = _source(df, source)
    require_columns(df, [patient, time, marker, value], src)
    vals = numeric_column(df, value, src, missing)
    times = numeric_column(df, time, src, "error")
    sub = df.loc[vals.index, [patient, marker]].copy()
    if sub[patient].isna().any():
        raise DataError(
            f"{src}: column {patient!r} has missing ids at {describe_rows(df, sub.index[sub[patient].isna()])}"
        )
    if sub[marker].isna().any():
        raise DataError(
            f"{src}: column {marker!r} has missing names at {describe_rows(df, sub.index[sub[marker].isna()])}"
        )
    sub[time] = times.loc[vals.index]
    sub[value] = vals
    sub.attrs = dict(df.attrs)
    check_unique_ids(sub, [patient, time, marker], src)
    wide = sub.pivot(index=[patient, time], columns=marker, values=value).reset_index()
    wide.columns.name = None
    return wide.sort_values([patient, time], kind="stable").reset_index(drop=True)


def wide_to_long(
    df: pd.DataFrame, markers: Sequence[str], patient: str = "patient", time: str = "time"
) -> pd.DataFrame:
    """Return the inverse of :func:`long_to_wide`: columns patient, time, marker, value (unmeasured cells left out)."""
    require_columns(df, [patient, time, *markers])
    out = df.melt(id_vars=[patient, time], value_vars=list(markers), var_name="marker", value_name="value")
    return out.dropna(subset=["value"]).reset_index(drop=True)
