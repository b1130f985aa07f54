"""The benchmark's input: the demo county at a size factor, generated once and kept.

Generating the county at size 100 takes minutes, so each (size, seed) is
generated once into `benchmarks/.data/size-N_seed-S/` as Parquet (one file
per source) and loaded into a DuckDB file beside it; a later run reuses
both. A `counts.json` written last marks a finished generation, and
`loaded.json` a finished load, so an interrupted step is redone, never
trusted half-done.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = Path(__file__).resolve().parent / ".data"


@dataclass(frozen=True)
class Dataset:
    """Where one (size, seed) county lives, and what building it cost."""

    size: float
    seed: int
    directory: Path
    rows: dict[str, int]
    generate_seconds: float | None  # None when it came from the cache
    load_seconds: float | None

    @property
    def parquet(self) -> Path:
        return self.directory / "parquet"

    @property
    def duckdb(self) -> Path:
        return self.directory / "warehouse.duckdb"

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def size_label(size: float) -> str:
    """`1`, `10`, `0.05`: the size as people write it, for paths and tables."""
    return f"{size:g}"


def directory_for(size: float, seed: int, root: Path = DATA) -> Path:
    """The cache folder of one (size, seed): the seed matters, the county differs with it."""
    return root / f"size-{size_label(size)}_seed-{seed}"


def prepare(size: float, seed: int, root: Path = DATA, log=print) -> Dataset:
    """The county at `size`: generated to Parquet and loaded into DuckDB unless already done."""
    from adapters.duckdb import DuckDBWarehouse
    from engine.demo.generator import generate_to_parquet

    directory = directory_for(size, seed, root)
    parquet = directory / "parquet"
    counts_file = directory / "counts.json"
    loaded_file = directory / "loaded.json"
    database = directory / "warehouse.duckdb"
    generate_seconds = load_seconds = None
    if counts_file.exists():
        rows = json.loads(counts_file.read_text())["rows"]
    else:
        loaded_file.unlink(missing_ok=True)
        log(f"size {size_label(size)}: generating the county to {parquet} …")
        started = time.perf_counter()
        rows = generate_to_parquet(parquet, size=size, seed=seed)
        generate_seconds = time.perf_counter() - started
        counts_file.write_text(
            json.dumps({"size": size, "seed": seed, "rows": rows, "seconds": generate_seconds})
        )
        log(f"size {size_label(size)}: {sum(rows.values()):,} rows in {generate_seconds:.0f} s")
    if not loaded_file.exists():
        for stale in (database, database.with_name(database.name + ".wal")):
            stale.unlink(missing_ok=True)
        log(f"size {size_label(size)}: loading {database} …")
        started = time.perf_counter()
        warehouse = DuckDBWarehouse(f"duckdb:///{database}")
        try:
            for name in sorted(rows):
                warehouse.load_parquet(name, str(parquet / f"{name}.parquet"))
            warehouse.execute("CHECKPOINT")
        finally:
            warehouse.close()
        load_seconds = time.perf_counter() - started
        loaded_file.write_text(json.dumps({"seconds": load_seconds}))
    return Dataset(size, seed, directory, rows, generate_seconds, load_seconds)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(prepare(float(arg), 2021))
