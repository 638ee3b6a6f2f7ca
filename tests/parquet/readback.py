"""Reads a Parquet file of cellpk (a sweep's, a population's) with pyarrow (and pandas
through it) and checks it against the CSV of the same run: row count, column names and
order, column types (the first column, `point` or `subject`, int64; `error`, if there is
one, a string), and every value (metrics exactly: both files hold the same doubles; an
empty CSV field is a null).

Usage: readback.py FILE.csv FILE.parquet
"""

import math
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def main(csv_path, parquet_path):
    table = pq.read_table(parquet_path)
    csv = pd.read_csv(csv_path, keep_default_na=False, dtype=str)
    frame = table.to_pandas()
    problems = []
    if table.num_rows != len(csv):
        problems.append(f"{table.num_rows} rows in Parquet, {len(csv)} in the CSV")
    if list(frame.columns) != list(csv.columns):
        problems.append(f"columns {list(frame.columns)} != {list(csv.columns)}")
    types = {f.name: f.type for f in table.schema}
    index = table.schema.names[0] if table.schema.names else None
    if index not in ("point", "subject") or types[index] != pa.int64():
        problems.append(f"the first column is {index} of {types.get(index)}, not an int64 index")
    if "error" in types and types["error"] != pa.string():
        problems.append(f"error is {types['error']}, not string")
    for name in csv.columns:
        got = frame[name].tolist()
        for row, (value, text) in enumerate(zip(got, csv[name])):
            if text == "":
                ok = value is None or (isinstance(value, float) and math.isnan(value))
            elif isinstance(value, str):
                ok = value == text
            elif isinstance(value, float):
                ok = value == float(text)
            else:
                ok = int(value) == int(text)
            if not ok:
                problems.append(f"row {row} {name}: Parquet {value!r}, CSV {text!r}")
                break
    if problems:
        print("Parquet read-back FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(
        f"Parquet read-back: {table.num_rows} rows x {table.num_columns} columns "
        f"({pq.ParquetFile(parquet_path).metadata.num_row_groups} row groups) equal the CSV "
        f"(pyarrow {pa.__version__}, pandas {pd.__version__})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
