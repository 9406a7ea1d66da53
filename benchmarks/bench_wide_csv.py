"""Loading a wide CSV: 100,000 columns x 30 rows (issue 15's 6.7 MB file), tunenet against pandas and pyarrow.

Run: ``python benchmarks/bench_wide_csv.py [--repeats 3] [--columns 100000]``.
Writes ``benchmarks/results/wide_csv.json``. The file: a header ``c0,...`` and
30 rows of single-digit integers, the last column the label (two classes).

Timed, interleaved, median of ``--repeats`` (wall and CPU of this process):

- ``tunenet``: ``tunenet.data.load(path)``, the whole load (parse, column
  types, encoding, X float32, labels), through the vectorised wide reader;
- ``pandas``: ``pandas.read_csv(path)`` (C engine), the parse only;
- ``pyarrow``: ``pyarrow.csv.read_csv(path)``, the parse only: tunenet's
  reader before the wide path (issue 15 measured that whole load at over
  90 s). Slow, so timed ``--pyarrow-repeats`` times (default once).

Target (issue 15): the tunenet load under 5 s.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from common import interleaved_both, machine, save_results, summarize, timed
from threadpoolctl import threadpool_limits

ROWS = 30
TARGET_SECONDS = 5.0


def write_wide_csv(path: Path, columns: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 10, size=(ROWS, columns))
    values[:, -1] = np.arange(ROWS) % 2
    header = ",".join(f"c{j}" for j in range(columns - 1)) + ",label"
    path.write_text(header + "\n" + "\n".join(",".join(map(str, row)) for row in values) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pyarrow-repeats", type=int, default=1, help="runs of the slow pyarrow parse (0: skip)")
    parser.add_argument("--columns", type=int, default=100_000, help="columns including the label")
    args = parser.parse_args()

    import pandas as pd
    import pyarrow.csv as pacsv

    from tunenet.data import load

    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
        path = write_wide_csv(Path(tmp) / "wide.csv", args.columns)
        size = path.stat().st_size
        ds = load(str(path))  # warm-up, and the check that it loads what was written
        assert ds.X.shape == (ROWS, args.columns - 1) and ds.X.dtype == np.float32
        runs = interleaved_both({"tunenet": lambda: load(str(path)), "pandas": lambda: pd.read_csv(path)},
                                args.repeats)
        results = {name: summarize(r) for name, r in runs.items()}
        if args.pyarrow_repeats:
            results["pyarrow"] = summarize([timed(lambda: pacsv.read_csv(path)) for _ in range(args.pyarrow_repeats)])
    out = {"machine": machine(), "rows": ROWS, "columns": args.columns, "bytes": size, "repeats": args.repeats,
           "pyarrow_repeats": args.pyarrow_repeats, "target_seconds": TARGET_SECONDS, "results": results,
           "met": results["tunenet"]["wall"] < TARGET_SECONDS}
    save_results("wide_csv", out)
    print(f"{args.columns:,} columns x {ROWS} rows ({size / 1e6:.1f} MB), median of {args.repeats}")
    for name, r in results.items():
        print(f"  {name:8s} {r['wall']:7.2f} s wall  {r['cpu']:7.2f} s CPU")
    print(f"target: tunenet under {TARGET_SECONDS:g} s: {'met' if out['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
