"""Write the malformed-file corpus (run from anywhere: `python tests/biomarkers/malformed/make_corpus.py`).

Each file breaks one rule of a valid table (id, outcome, m1, m2; 6 cases, 6 controls). The files are committed;
this script documents how each was made and rewrites them identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def valid() -> pd.DataFrame:
    rng = np.random.default_rng(20240601)
    y = np.array(["case", "control"] * 6)
    return pd.DataFrame(
        {
            "id": [f"P{i:02d}" for i in range(1, 13)],
            "outcome": y,
            "m1": np.round(rng.normal(size=12) + (y == "case"), 3),
            "m2": np.round(rng.normal(size=12), 3),
        }
    )


def text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False)


def main() -> None:
    base = valid()
    (HERE / "valid.csv").write_text(text(base))
    lines = text(base).splitlines(keepends=True)

    def edit(line: int, old: str, new: str) -> str:
        """Replace within file line `line` (1-based, header = 1)."""
        out = list(lines)
        assert old in out[line - 1], (line, old)
        out[line - 1] = out[line - 1].replace(old, new, 1)
        return "".join(out)

    m1_row4 = str(base.loc[2, "m1"])
    files = {
        "missing_value.csv": edit(4, "," + m1_row4 + ",", ",,"),
        "non_numeric.csv": edit(3, "," + str(base.loc[1, "m1"]) + ",", ",high,"),
        "infinite_value.csv": edit(6, "," + str(base.loc[4, "m1"]) + ",", ",inf,"),
        "missing_outcome.csv": edit(5, ",control,", ",,"),
        "three_levels.csv": edit(8, ",case,", ",unclear,"),
        "ragged_row.csv": edit(5, "\n", ",9.9\n"),
        "duplicate_column.csv": edit(1, "m2", "m1"),
        "empty_column_name.csv": edit(1, "m2", ""),
        "duplicated_ids.csv": edit(9, "P08", "P03"),
        "constant_marker.csv": text(base.assign(m2=1.5)),
        "no_cases.csv": text(base.assign(outcome="control")),
        "no_controls.csv": text(base.assign(outcome="case")),
        "empty.csv": "",
        "header_only.csv": lines[0],
        "semicolon_nonnumeric.csv": text(base).replace(",", ";").replace(str(base.loc[3, "m2"]), "n.d."),
        "nonnumeric.tsv": text(base).replace(",", "\t").replace(str(base.loc[7, "m1"]), "<LOD"),
    }
    for name, content in files.items():
        (HERE / name).write_text(content)
    (HERE / "non_utf8.csv").write_bytes(edit(8, "P07", "P\xe907").encode("latin-1"))
    (HERE / "binary_garbage.csv").write_bytes(b"\x00\x01\x02garbage\x00" * 20)
    (HERE / "unknown_suffix.dat").write_text(text(base))
    (HERE / "csv_named.parquet").write_text(text(base))
    (HERE / "csv_named.xlsx").write_text(text(base))
    full = HERE / "_tmp.parquet"
    base.to_parquet(full, index=False)
    raw = full.read_bytes()
    (HERE / "truncated.parquet").write_bytes(raw[: len(raw) // 2])
    full.unlink()
    base.assign(m2=base["m2"].where(base.index != 9)).to_parquet(HERE / "missing_value.parquet", index=False)
    with pd.ExcelWriter(HERE / "non_numeric.xlsx", engine="openpyxl") as xl:
        base.assign(m1=base["m1"].astype(object).where(base.index != 5, "n/a?")).to_excel(xl, index=False)
    long = pd.DataFrame(
        {
            "patient": ["A", "A", "B", "B", "B", "C", "C"],
            "time": [0, 6, 0, 6, 6, 0, 6],
            "marker": ["pdl1"] * 7,
            "value": [1.0, 2.0, 1.5, 1.2, 1.3, 0.9, 3.0],
            "response": ["yes", "yes", "no", "no", "no", "yes", "yes"],
        }
    )
    (HERE / "long_duplicate_visit.csv").write_text(text(long))
    (HERE / "long_missing_visit.csv").write_text(text(long.drop(index=[3, 4])))


if __name__ == "__main__":
    main()
