"""The benchmark's input: the demo county at a size factor, generated once and kept.

Generating the county at size 100 takes minutes, so each (size, seed) is
generated once into `benchmarks/.data/size-N_seed-S/` as Parquet (one file
per source) and loaded into a DuckDB file beside it; a later run reuses
both. A `counts.json` written last marks a finished generation, and
`loaded.json` a finished load, so an interrupted step is redone, never
trusted half-done. For the Spark contender, `prepare_spark` builds a Spark
warehouse folder `spark/` beside them, once: written by a child process
(Spark allows one context a process) into a temporary folder, renamed to
`spark/` when every table is in, so that `spark/` exists only complete.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
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
    def spark(self) -> Path:
        return self.directory / "spark"

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


def prepare_spark(dataset: Dataset, log=print) -> Path:
    """The county's Spark warehouse folder (one Parquet directory per table), built once.

    Loaded with `SparkWarehouse.load_parquet` in a child process on `local[2]`
    (loading is not what the benchmark measures), into `spark.tmp-…`, renamed to
    `spark/` when done; a temporary folder left by an interrupted build is removed.
    """
    target = dataset.spark
    for stale in dataset.directory.glob("spark.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if target.is_dir():
        return target
    staging = dataset.directory / f"spark.tmp-{uuid.uuid4().hex}"
    log(f"size {size_label(dataset.size)}: loading the Spark warehouse {target} …")
    started = time.perf_counter()
    try:
        subprocess.run(
            [sys.executable, __file__, "--spark", str(dataset.parquet), str(staging)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        (staging / "loaded.json").write_text(json.dumps({"seconds": time.perf_counter() - started}))
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    log(f"size {size_label(dataset.size)}: Spark warehouse in {seconds:.0f} s")
    return target


def _load_spark(parquet: Path, folder: Path) -> None:
    """Every Parquet file of `parquet` as a table of a Spark warehouse in `folder` (local[2])."""
    import tempfile

    from adapters.spark import SparkWarehouse

    with tempfile.TemporaryDirectory(prefix="sparkbench-catalog-") as catalog:
        warehouse = SparkWarehouse(f"spark:///{folder}?spark.sql.warehouse.dir=file://{catalog}")
        for file in sorted(parquet.glob("[!_]*.parquet")):  # not the generator's _truth
            warehouse.load_parquet(file.stem, str(file))
        warehouse.spark.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--spark"]:
        _load_spark(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        for arg in sys.argv[1:]:
            print(prepare(float(arg), 2021))
