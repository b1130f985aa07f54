"""One measurement in a fresh process: `python3 benchmarks/worker.py TASK --…`, JSON on stdout.

benchmarks/run.py starts this once per measurement and repetition, so that
each figure has its own process: the imports are cold, and the peak RSS
the parent reads with os.wait4 is this measurement's alone. The worker
times its own phases with perf_counter (the parent times the whole
process) and prints one JSON object as its last line of output.

Tasks:
  compile  import the compiler, parse + type-check the pack (no examples), compile for duckdb
  engine   `engine.runs.run.run_models` on the DuckDB file as of a day (no ledger); with
           `--sql compile`, compiling every model as a run does when compiled/ is not current;
           with `--deployment FILE`, its parameters (and tables) as `oversight run` uses them
  split    the same loop as run_models, with each step timed (reviewed files, query, …)
  spark    the same run_models on the county's Spark warehouse (`--spark-dir`, `--master`),
           start-up and each model timed, Spark's event log summed (benchmarks/spark_events.py)
  hand     a hand-written SQL baseline (benchmarks/hand_sql.py) on the same file and day
  pandas   the pandas models (benchmarks/pandas_models.py) on the county's Parquet files
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.abc
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for path in (ROOT, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def _policies(args: argparse.Namespace) -> Path:
    return Path(args.policies or ROOT / "policies")


def task_compile(args: argparse.Namespace) -> dict[str, Any]:
    """Parse, type-check and compile the whole pack for duckdb, as a cold process would.

    The compiler's stages only (dsl.check, engine.compiler.compile), inline examples
    excluded as the target says: what `engine.api.load_pack` and `compile_pack`
    do, without the engine's facade importing pyarrow and the warehouse
    drivers. run.py times `oversight compile` as a user types it beside this.
    """
    started = time.perf_counter()
    from dsl.check import check_pack
    from engine import __version__
    from engine.compiler.compile import Target, compile_model

    imported = time.perf_counter()
    result = check_pack(_policies(args), __version__, examples=False)
    assert result.pack is not None, [d.to_json() for d in result.diagnostics]
    pack = result.pack
    checked = time.perf_counter()
    target = Target("duckdb")
    sql = [compile_model(model, pack, target).sql() for model in pack.models.values()]
    done = time.perf_counter()
    return {
        "models": len(sql),
        "seconds": {
            "import": imported - started,
            "check": checked - imported,
            "compile": done - checked,
            "in_process": done - STARTED,
        },
    }


Found = dict[str, dict[str, str]]  # model -> warning key -> a value


def _keys_and_messages(warnings: Any) -> tuple[Found, Found]:
    """Each warning's township and message, by model and warning key."""
    keys: dict[str, dict[str, str]] = {}
    messages: dict[str, dict[str, str]] = {}
    for model_id, key, township, message in zip(
        warnings.column("model_id").to_pylist(),
        warnings.column("warning_key").to_pylist(),
        warnings.column("township").to_pylist(),
        warnings.column("message").to_pylist(),
        strict=True,
    ):
        keys.setdefault(model_id, {})[key] = str(township)
        messages.setdefault(model_id, {})[key] = message
    return keys, messages


def task_engine(args: argparse.Namespace) -> dict[str, Any]:
    """All (or the selected) models through engine.runs.run.run_models, as `oversight run` does."""
    started = time.perf_counter()
    from adapters.duckdb import DuckDBWarehouse
    from engine import api
    from engine.runs.run import run_models, select_models

    imported = time.perf_counter()
    pack = api.load_pack(_policies(args))
    models = select_models(pack, args.models.split(",") if args.models else ())
    county = api.deployment_for(pack, args.deployment)  # the pack's defaults without one
    checked = time.perf_counter()
    warehouse = DuckDBWarehouse(f"duckdb:///{args.db}", read_only=True, must_exist=True)
    try:
        result = run_models(
            pack,
            warehouse,
            args.as_of,
            models,
            county.parameters,
            county.tables,
            reviewed=args.sql == "reviewed",
        )
    finally:
        warehouse.close()
    done = time.perf_counter()
    return {
        **_outcomes(result, len(models)),
        "compiled_at_run_time": sum(o.sql == "compiled at run time" for o in result.outcomes),
        "seconds": {
            "import": imported - started,
            "check": checked - imported,
            "models": done - checked,
            "in_process": done - STARTED,
        },
    }


def _outcomes(result: Any, models: int, fine: tuple[str, ...] = ("ran",)) -> dict[str, Any]:
    """What a run of `models` models (engine.runs.run.RunResult) gave.

    The problems (every outcome whose status is not `fine`), each model's seconds and
    rows, and the warnings' keys and messages, as run.py compares them.
    """
    return {
        "models": models,
        "problems": [
            f"{o.model_id}: {o.status} {o.error or o.missing_sources}"
            for o in result.outcomes
            if o.status not in fine
        ],
        "per_model": {o.model_id: o.seconds for o in result.outcomes},
        "rows": {o.model_id: o.rows for o in result.outcomes},
        **dict(zip(("keys", "messages"), _keys_and_messages(result.warnings), strict=True)),
    }


def task_spark(args: argparse.Namespace) -> dict[str, Any]:
    """The `engine` task on Spark: run_models on the county's Spark warehouse, start-up apart.

    The URL is the user's `spark:///DIR?master=…` with Spark's event log switched on
    (a temporary folder, read after the session stops). Timed apart: the imports,
    loading the pack, starting the session (the driver JVM and the SparkContext), until
    every executor has registered (`local-cluster[N,…]`: N), opening the warehouse
    (registering its tables in the session's catalog), the models (run_models, as the
    `engine` task on DuckDB: the reviewed SQL of compiled/spark/), and stopping Spark.
    While a model runs, the job group is its id, so that the event log tells which
    jobs, stages and tasks were whose. Peak memory: each process of the run read
    from /proc before Spark stops (Python, the driver JVM, the executor JVMs).
    """
    started = time.perf_counter()
    import spark_events

    from adapters.spark import SparkWarehouse, master_and_settings, session
    from engine import api
    from engine.runs.run import run_models, select_models

    imported = time.perf_counter()
    pack = api.load_pack(_policies(args))
    models = select_models(pack, args.models.split(",") if args.models else ())
    checked = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="sparkbench-events-"))
    (scratch / "events").mkdir()
    url = (
        f"spark:///{Path(args.spark_dir).resolve()}?master={args.master}"
        f"&spark.eventLog.enabled=true&spark.eventLog.dir=file://{scratch / 'events'}"
        "&spark.eventLog.compress=false&spark.eventLog.rolling.enabled=false"
        f"&spark.sql.warehouse.dir=file://{scratch / 'catalog'}"
    )
    try:
        master, settings = master_and_settings(url)
        spark = session(master, settings)
        context = spark.sparkContext
        session_up = time.perf_counter()
        cluster = re.fullmatch(r"local-cluster\[(\d+),.*\]", master)
        wanted = int(cluster.group(1)) if cluster else 0
        # getExecutorMemoryStatus counts the driver's block manager as well.
        while context._jsc.sc().getExecutorMemoryStatus().size() < wanted + 1:
            if time.perf_counter() - session_up > 600:
                raise RuntimeError(f"{wanted} executors did not register in 10 minutes")
            time.sleep(0.01)
        executors_up = time.perf_counter()
        warehouse = SparkWarehouse(url, must_exist=True)  # the same session: registers tables
        opened = time.perf_counter()
        windows: dict[str, list[float]] = {}
        order = [m.id for m in models]
        clock = {"began": time.time()}

        def follow(event: str, facts: dict[str, Any]) -> None:
            # run_models runs the models in order: when one ends, the next begins.
            if event.startswith("model."):
                now = time.time()
                windows[facts["id"]] = [clock["began"], now]
                clock["began"] = now
                position = order.index(facts["id"]) + 1
                if position < len(order):
                    context.setJobGroup(order[position], order[position])

        if order:
            context.setJobGroup(order[0], order[0])
        result = run_models(
            pack, warehouse, args.as_of, models, timeout=args.timeout, events=follow
        )
        done = time.perf_counter()
        context.setLocalProperty("spark.jobGroup.id", None)
        memory = _process_peaks()
        spark.stop()
        stopped = time.perf_counter()
        log = spark_events.summarise(spark_events.events(scratch / "events"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        **_outcomes(result, len(models), fine=("ran", "timed_out")),
        "master": master,
        "timeout": args.timeout,
        "timed_out": [o.model_id for o in result.outcomes if o.status == "timed_out"],
        "executors": wanted,
        "seconds": {
            "import": imported - started,
            "check": checked - imported,
            "session": session_up - checked,
            "executors": executors_up - session_up,
            "startup": executors_up - checked,
            "open": opened - executors_up,
            "models": done - opened,
            "stop": stopped - done,
            "in_process": stopped - STARTED,
        },
        "windows": windows,
        "events": log.to_json(),
        "memory": memory,
    }


def _process_peaks() -> dict[str, int]:
    """Peak resident memory (VmHWM) of this process and each of its descendants, by role.

    os.wait4 in the parent reports one figure, the largest of the processes it
    reaps with their reaped descendants: here the driver JVM or an executor JVM
    alone, never their sum. Read from /proc while they all live: `python` (this
    process), `driver` (the JVM pyspark started), `executor N` (their JVMs), and
    `total`, the sum of the peaks (an upper bound of the peak of the sum).
    """
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    family, frontier = [os.getpid()], [os.getpid()]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        family += frontier
    peaks: dict[str, int] = {}
    executors = 0
    for pid in family:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        peak = re.search(r"VmHWM:\s+(\d+) kB", status)
        if peak is None:
            continue
        if pid == os.getpid():
            role = "python"
        elif b"CoarseGrainedExecutorBackend" in command:
            executors += 1
            role = f"executor {executors}"
        elif b"SparkSubmit" in command:
            role = "driver"
        else:
            role = f"other {pid}"
        peaks[role] = int(peak.group(1)) * 1024
    peaks["total"] = sum(peaks.values())
    return peaks


def task_split(args: argparse.Namespace) -> dict[str, Any]:
    """run_models' loop with each step timed, to say where the engine's time goes.

    Mirrors engine/runs/run.py: read the reviewed files of compiled/ that are
    current, make the run's shared relations once (`shared`: engine/runs/shared.py),
    then per model run its file (or compile it and render the SQL, with `--sql
    compile`, when its file is not current, or when it reads a shared relation) and
    turn the rows into warnings. The first compile also pays for importing sqlglot's duckdb
    dialect, which `load_pack` does not need; that is timed on its own.
    """
    from adapters.duckdb import DuckDBWarehouse
    from engine import api
    from engine.compiler.compile import Target
    from engine.compiler.reviewed import reviewed_queries
    from engine.runs.reads import relations_read
    from engine.runs.run import select_models
    from engine.runs.shared import plan_shared, shared_tables

    pack = api.load_pack(_policies(args))
    models = select_models(pack, args.models.split(",") if args.models else ())
    steps = dict.fromkeys(
        ("reviewed", "dialect_import", "compile", "render", "query", "warnings"), 0.0
    )
    per_model: dict[str, dict[str, float]] = {}
    began = time.perf_counter()
    warehouse = DuckDBWarehouse(f"duckdb:///{args.db}", read_only=True, must_exist=True)
    connected = time.perf_counter()
    steps["connect"] = connected - began
    queries = reviewed_queries(pack, warehouse.dialect) if args.sql == "reviewed" else {}
    steps["reviewed"] = time.perf_counter() - connected
    target = Target(warehouse.dialect, args.as_of)
    plan = plan_shared(pack, models, warehouse.dialect)
    try:
        sharing = time.perf_counter()
        with shared_tables(warehouse, pack, target, plan) as run_target:
            steps["shared"] = time.perf_counter() - sharing
            for model in models:
                read_shared = relations_read(pack, model) & run_target.shared.keys()
                _split_model(
                    model, pack, warehouse, queries, read_shared, run_target, args, steps, per_model
                )
    finally:
        warehouse.close()
    steps["total"] = time.perf_counter() - began
    return {"models": len(models), "seconds": steps, "per_model": per_model}


def _split_model(
    model: Any,
    pack: Any,
    warehouse: Any,
    queries: dict[str, Any],
    read_shared: set[str],
    target: Any,
    args: argparse.Namespace,
    steps: dict[str, float],
    per_model: dict[str, dict[str, float]],
) -> None:
    """One model of task_split, each step timed into `steps` and `per_model`."""
    from engine.compiler.compile import compile_model
    from engine.runs.warnings import to_warnings

    times = dict.fromkeys(("compile", "render"), 0.0)
    if model.id in queries and not read_shared:
        statement = queries[model.id]
        sql, bound = statement.sql, statement.values(pack, args.as_of, {})
    else:
        if "sqlglot.dialects.duckdb" not in sys.modules:
            started = time.perf_counter()
            import sqlglot.dialects.duckdb  # noqa: F401  (what the first render imports)

            steps["dialect_import"] = time.perf_counter() - started
        t_started = time.perf_counter()
        compiled = compile_model(model, pack, target)
        t_compiled = time.perf_counter()
        sql, bound = compiled.sql(last_use=True), None
        times["compile"] = t_compiled - t_started
        times["render"] = time.perf_counter() - t_compiled
    t_rendered = time.perf_counter()
    rows = warehouse.query(sql, None, bound)
    t_queried = time.perf_counter()
    to_warnings(model, rows, pack.pack, args.as_of)
    times["query"] = t_queried - t_rendered
    times["warnings"] = time.perf_counter() - t_queried
    per_model[model.id] = times
    for step, seconds in times.items():
        steps[step] += seconds


def task_hand(args: argparse.Namespace) -> dict[str, Any]:
    """One hand-written baseline (benchmarks/hand_sql.py) on the same file, as of the same day.

    Timed: opening the file, defining the as-of views and running and
    fetching every query. Not timed: reading the rows as warnings to compare
    with the engine's — the messages baseline through the engine's own
    to_warnings, so that a message that differs in one character shows.
    """
    started = time.perf_counter()
    import duckdb
    import hand_sql

    models = args.models.split(",") if args.models else hand_sql.model_ids(args.baseline)
    imported = time.perf_counter()
    con = duckdb.connect(str(args.db), read_only=True)
    try:
        hand_sql.prepare(con, args.as_of)
        rows, per_model = hand_sql.run(con, args.as_of, models, args.baseline)
    finally:
        con.close()
    done = time.perf_counter()
    found: dict[str, Any] = {}
    if args.baseline == "keys":
        keys: dict[str, dict[str, str]] = {}
        for model, got in rows.items():
            for key, township in got:
                known = keys.setdefault(model, {})
                if str(key) not in known or str(township) < known[str(key)]:
                    known[str(key)] = str(township)
        found["keys"] = keys
    else:
        found["keys"], found["messages"] = _keys_and_messages(_as_warnings(args, rows))
    return {
        "models": len(models),
        "baseline": args.baseline,
        "seconds": {
            "import": imported - started,
            "models": done - imported,
            "in_process": done - STARTED,
        },
        "per_model": per_model,
        **found,
    }


def _as_warnings(args: argparse.Namespace, rows: dict[str, list[tuple]]) -> Any:
    """The hand-written rows as the engine's warnings (its compiler says what each column is)."""
    import hand_sql
    import pyarrow as pa

    from engine import api
    from engine.schema import WARNINGS_SCHEMA

    pack = api.load_pack(_policies(args))
    parts = [WARNINGS_SCHEMA.empty_table()]
    for model_id, got in rows.items():
        parts.append(hand_sql.as_warnings(pack.models[model_id], got, pack, args.as_of))
    return pa.concat_tables(parts)


def task_pandas(args: argparse.Namespace) -> dict[str, Any]:
    """The pandas models: read what they need from Parquet, then compute each."""
    started = time.perf_counter()
    import pandas as pd
    import pandas_models

    models = args.models.split(",") if args.models else sorted(pandas_models.MODELS)
    imported = time.perf_counter()
    tables = pandas_models.load(Path(args.parquet), models)
    loaded = time.perf_counter()
    keys: dict[str, dict[str, str]] = {}
    per_model: dict[str, float] = {}
    for model_id in models:
        begun = time.perf_counter()
        keys[model_id] = pandas_models.run(tables, args.as_of, [model_id])[model_id]
        per_model[model_id] = time.perf_counter() - begun
    done = time.perf_counter()
    return {
        "models": len(models),
        "pandas": pd.__version__,
        "seconds": {
            "import": imported - started,
            "read": loaded - imported,
            "compute": done - loaded,
            "models": done - imported,
            "in_process": done - STARTED,
        },
        "per_model": per_model,
        "keys": {m: {str(k): str(v) for k, v in found.items()} for m, found in keys.items()},
    }


TASKS = {
    "compile": task_compile,
    "engine": task_engine,
    "split": task_split,
    "spark": task_spark,
    "hand": task_hand,
    "pandas": task_pandas,
}


class _WithoutPandas(importlib.abc.MetaPathFinder):
    """An import finder for which pandas is not installed."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def main() -> None:
    """Run one task and print its figures as JSON (the parent reads the last line)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--db", type=Path, help="the DuckDB file")
    parser.add_argument("--parquet", type=Path, help="the folder of the county's Parquet files")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2021, 12, 31))
    parser.add_argument("--models", default="", help="comma-separated model ids (default: all)")
    parser.add_argument("--policies", default=None)
    parser.add_argument("--spark-dir", type=Path, help="for `spark`: the Spark warehouse folder")
    parser.add_argument(
        "--master", default="local-cluster[2,1,1024]", help="for `spark`: Spark's master"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="for `spark`: each model's time limit (s)"
    )
    parser.add_argument(
        "--baseline", choices=("messages", "keys"), default="messages", help="for `hand`"
    )
    parser.add_argument(
        "--deployment",
        type=Path,
        default=None,
        help="for `engine`: a deployment file whose parameters and tables the run uses",
    )
    parser.add_argument(
        "--sql",
        choices=("reviewed", "compile"),
        default="reviewed",
        help="for `engine` and `split`: run compiled/'s current files, or compile every model",
    )
    args = parser.parse_args()
    if args.task != "pandas":
        # pandas is installed here for the pandas baseline only; oversight does not depend on
        # it. With pandas importable, pyarrow imports it at its first conversion of Python
        # values (0.2 s; https://github.com/apache/arrow/issues/34994), a cost an engine
        # installed without pandas never pays. Make it unimportable, as on such an install.
        sys.meta_path.insert(0, _WithoutPandas())
    result = TASKS[args.task](args)
    # Each process's own peak, read here: the parent's os.wait4 would report at least the
    # parent's own resident size at the fork, which Linux carries across exec.
    result.setdefault("memory", _process_peaks())
    print(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
