"""The benchmark: the engine against hand-written SQL and pandas on the demo county at 1x/10x/100x.

    python3 benchmarks/run.py --sizes 1,10,100 [--repeat 3] [--as-of 2021-12-31]
                              [--out benchmarks/results]

For each size the county is generated once to Parquet and loaded into a
DuckDB file (both cached under benchmarks/.data/). Every measurement then
runs in a fresh child process (benchmarks/worker.py), repetitions
interleaved so that a burst of load on a shared machine hits all
contenders alike; figures are medians with min and max. Peak memory is the
child's peak RSS, read with os.wait4. Before anything is reported, the
hand-written SQL must raise exactly the engine's warnings for all 35 models
(keys, townships and, for the baseline the ratio is measured against, every
message word for word), and pandas exactly the engine's keys and townships
for its models: a baseline that computes something else is no baseline.

Prints the Markdown tables and writes them with every raw figure to
`OUT/bench-<UTC time>.json` and `.md`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for path in (ROOT, HERE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import data  # noqa: E402
import pandas_models  # noqa: E402

WORKER = HERE / "worker.py"
PYCACHE = data.DATA / "pycache"
PANDAS_MODELS = sorted(pandas_models.MODELS)
TARGETS = {
    "compile_seconds": 1.0,  # parse + type-check + compile, cold process included
    "models_1x_seconds": 2.0,  # all 35 models at 1x on DuckDB
    "memory_100x_bytes": 24 * 1024**3,  # all 35 models at 100x
    "ratio_to_hand_sql": 1.2,
}


@dataclass
class Run:
    """One child process: its own JSON, and what the parent saw (wall time, peak RSS)."""

    task: str
    wall: float
    max_rss: int  # bytes
    result: dict[str, Any]
    load: list[float] = field(default_factory=list)  # load average when it started


@dataclass
class Series:
    """The repetitions of one measurement."""

    name: str
    runs: list[Run] = field(default_factory=list)

    def values(self, key: str) -> list[float]:
        if key == "wall":
            return [r.wall for r in self.runs]
        if key == "max_rss":
            return [float(r.max_rss) for r in self.runs]
        return [r.result["seconds"][key] for r in self.runs]

    def stats(self, key: str) -> dict[str, float]:
        values = self.values(key)
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    def median(self, key: str) -> float:
        return statistics.median(self.values(key))


class WorkerFailed(RuntimeError):
    """A child process exited with an error."""


def child_env(bytecode: bool = True) -> dict[str, str]:
    """The environment of a child process.

    With `bytecode`, compiled bytecode is cached under benchmarks/.data/pycache
    (PYTHONPYCACHEPREFIX), as an installed package has its .pyc files: a
    cold process then still imports and runs everything anew, but does not
    recompile the sources. Without it, the environment is passed unchanged.
    """
    env = dict(os.environ)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def spawn(
    command: list[str], task: str, env: dict[str, str], parse_json: bool = True, timeout: float = 0
) -> Run:
    """Run one child to its end; its wall time, peak RSS (os.wait4) and last line of JSON."""
    load = load_average()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise WorkerFailed(f"{task} exited {process.returncode}:\n{stderr[-4000:]}")
    result = json.loads(stdout.strip().splitlines()[-1]) if parse_json else {}
    return Run(task, wall, usage.ru_maxrss * 1024, result, load)


def worker(task: str, env: dict[str, str], **options: Any) -> Run:
    """One measurement by benchmarks/worker.py in a fresh process."""
    command = [sys.executable, str(WORKER), task]
    for name, value in options.items():
        if value not in (None, ""):
            command += [f"--{name.replace('_', '-')}", str(value)]
    return spawn(command, task, env)


_CLI = (
    "import sys; from engine.__main__ import entry_point; sys.argv[0] = 'oversight'; entry_point()"
)


def cli_check(env: dict[str, str]) -> Run:
    """`oversight check --no-examples` as a user types it (it also checks compiled/ is current).

    With --no-cache: every repetition checks everything, as the first check of a fresh
    clone (and CI) does; the pack's .oversight/ cache would make all but the first one
    a check of an unchanged pack.
    """
    command = [
        sys.executable,
        "-c",
        _CLI,
        "check",
        "--no-examples",
        "--no-cache",
        "--format",
        "json",
    ]
    return spawn(command, "cli_check", env, parse_json=False)


def cli_compile(env: dict[str, str]) -> Run:
    """`oversight compile --dialect duckdb` as a user types it (the SQL goes to stdout)."""
    command = [sys.executable, "-c", _CLI, "compile", "--dialect", "duckdb"]
    return spawn(command, "cli_compile", env, parse_json=False)


def warm_files(dataset: data.Dataset) -> None:
    """Read the size's files once, so that every contender finds them in the page cache."""
    for path in [dataset.duckdb, *sorted(dataset.parquet.glob("*.parquet"))]:
        with path.open("rb") as handle:
            while handle.read(1 << 24):
                pass


def compare(engine: dict[str, Any], baseline: dict[str, Any], models: list[str]) -> list[str]:
    """How a baseline's warnings differ from the engine's, model by model.

    Keys and townships always; messages too when the baseline gives them.
    """
    problems = []
    for model in models:
        want, have = engine["keys"].get(model, {}), baseline["keys"].get(model, {})
        if set(want) != set(have):
            missing = sorted(set(want) - set(have))[:5]
            extra = sorted(set(have) - set(want))[:5]
            problems.append(f"{model}: keys differ (missing {missing}, extra {extra})")
            continue
        towns = sorted(k for k in want if want[k] != have[k])
        if towns:
            problems.append(f"{model}: townships differ for {towns[:5]}")
        if "messages" in baseline:
            said, wrote = engine["messages"].get(model, {}), baseline["messages"].get(model, {})
            for key in sorted(k for k in said if said[k] != wrote.get(k))[:3]:
                problems.append(f"{model} {key}: message {wrote.get(key)!r}, engine {said[key]!r}")
    return problems


def measure_compile(repeat: int, log) -> dict[str, Series]:
    """Parse + check + compile of the whole pack, and the CLI check, in cold processes."""
    cached, plain = child_env(True), child_env(False)
    series = {
        "compile": Series("compile"),
        "compile_no_bytecode": Series("compile_no_bytecode"),
        "cli_compile": Series("cli_compile"),
        "cli_check": Series("cli_check"),
    }
    for i in range(repeat):
        series["compile"].runs.append(worker("compile", cached))
        series["compile_no_bytecode"].runs.append(worker("compile", plain))
        series["cli_compile"].runs.append(cli_compile(cached))
        series["cli_check"].runs.append(cli_check(cached))
        log(
            f"compile {i + 1}/{repeat}: {series['compile'].runs[-1].wall:.2f} s, "
            f"no bytecode cache {series['compile_no_bytecode'].runs[-1].wall:.2f} s, "
            f"oversight compile {series['cli_compile'].runs[-1].wall:.2f} s, "
            f"oversight check {series['cli_check'].runs[-1].wall:.2f} s"
        )
    return series


def measure_size(
    dataset: data.Dataset, as_of: dt.date, repeat: int, split_repeat: int, log
) -> tuple[dict[str, Series], list[str]]:
    """Every contender at one size, repetitions interleaved; and any disagreement.

    The step-by-step split of the engine's time is a diagnosis, not a
    contender: it runs in the first `split_repeat` repetitions only.
    """
    env = child_env(True)
    db, parquet = dataset.duckdb, dataset.parquet
    subset = ",".join(PANDAS_MODELS)
    plan = [
        ("engine", "engine", {"db": db}),
        ("engine_compiling", "engine", {"db": db, "sql": "compile"}),
        ("hand", "hand", {"db": db, "baseline": "messages"}),
        ("hand_keys", "hand", {"db": db, "baseline": "keys"}),
        ("engine_subset", "engine", {"db": db, "models": subset}),
        ("hand_subset", "hand", {"db": db, "models": subset, "baseline": "messages"}),
        ("pandas", "pandas", {"parquet": parquet, "models": subset}),
        ("split", "split", {"db": db}),
    ]
    series = {name: Series(name) for name, _, _ in plan}
    problems: list[str] = []
    warm_files(dataset)
    label = data.size_label(dataset.size)
    for i in range(repeat):
        for name, task, options in plan:
            if name == "split" and i >= split_repeat:
                continue
            run = worker(task, env, as_of=as_of, **options)
            series[name].runs.append(run)
            seconds = run.result["seconds"].get("models", run.result["seconds"].get("total"))
            log(
                f"size {label} rep {i + 1}/{repeat} {name}: {seconds:.2f} s "
                f"(process {run.wall:.2f} s, peak {run.max_rss / 2**20:.0f} MiB)"
            )
        engine = series["engine"].runs[-1].result
        problems += [f"engine: {p}" for p in engine["problems"]]
        all_models = sorted(engine["per_model"])
        for name in ("engine_compiling", "hand", "hand_keys"):
            problems += [
                f"{name} vs engine, size {label}: {p}"
                for p in compare(engine, series[name].runs[-1].result, all_models)
            ]
        problems += [
            f"pandas vs engine, size {label}: {p}"
            for p in compare(
                series["engine_subset"].runs[-1].result,
                series["pandas"].runs[-1].result,
                PANDAS_MODELS,
            )
        ]
        if problems:
            break  # a wrong baseline is worthless: stop measuring
    return series, sorted(set(problems))


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import duckdb
    import pandas
    import pyarrow
    import sqlglot

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "sqlglot": sqlglot.__version__,
        "pyarrow": pyarrow.__version__,
        "pandas": pandas.__version__,
        "duckdb_threads": os.cpu_count(),  # DuckDB's default: one thread per core
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: how busy the shared machine was."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


# ---- reporting


def seconds_text(stats: dict[str, float]) -> str:
    """Median (min–max): the spread says how much the machine's other load moved the figure."""
    return f"{stats['median']:.2f} s ({stats['min']:.2f}–{stats['max']:.2f})"


def memory_text(size: float) -> str:
    """Bytes in MiB, or GiB above one."""
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GiB"
    return f"{size / 1024**2:.0f} MiB"


def markdown(report: dict[str, Any]) -> str:
    """The tables: headline per size, compile, where the engine's time goes, slowest models."""
    sizes = report["sizes"]
    labels = [f"{s['size_label']}x ({s['rows']:,} rows)" for s in sizes]
    lines = ["| measurement | " + " | ".join(labels) + " | target |"]
    lines.append("|---|" + "---|" * len(labels) + "---|")

    def row(title: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {target} |")

    def each(name: str, key: str = "models") -> list[str]:
        return [seconds_text(s["series"][name][key]) if name in s["series"] else "—" for s in sizes]

    def rss(name: str) -> list[str]:
        return [memory_text(s["series"][name]["max_rss"]["median"]) for s in sizes]

    def ratio(name: str) -> list[str]:
        return [f"{s['ratios'][name]:.2f}" for s in sizes]

    row("all 35 models, engine on DuckDB", each("engine"), "< 2 s at 1x")
    row("  peak RSS of that process", rss("engine"), "< 24 GiB at 100x")
    row(
        "  the same compiling every model at run time (as when compiled/ is not current)",
        each("engine_compiling"),
    )
    row("all 35 models, hand-written SQL, the same warnings and messages", each("hand"))
    row("  peak RSS of that process", rss("hand"))
    row("**engine / hand-written SQL**", ratio("engine_over_hand"), "≤ 1.2")
    row("  engine compiling at run time / hand-written SQL", ratio("engine_compiling_over_hand"))
    row("all 35 models, hand-written SQL, keys and townships only", each("hand_keys"))
    row("engine / that (the engine also computes the messages)", ratio("engine_over_hand_keys"))
    n = len(PANDAS_MODELS)
    row(f"{n} models, engine on DuckDB", each("engine_subset"))
    row(f"{n} models, hand-written SQL (messages)", each("hand_subset"))
    row(f"{n} models, pandas (read Parquet + compute)", each("pandas"))
    row("  of which reading Parquet", each("pandas", "read"))
    row("  peak RSS of the pandas process", rss("pandas"))
    row(f"**engine / pandas** ({n} models)", ratio("engine_over_pandas"), "reported")
    compile_ = report.get("compile")
    lines += (
        []
        if compile_ is None
        else [
            "",
            "| whole pack, cold process | median (min–max) | target |",
            "|---|---|---|",
            f"| parse + type-check + compile 35 models for duckdb, process wall time | "
            f"{seconds_text(compile_['compile']['wall'])} | < 1 s |",
            f"|   interpreter start, until the worker runs | "
            f"{compile_['startup_seconds']:.2f} s | |",
            f"|   import the compiler (dsl, engine.compiler.compile: lark, sqlglot, ruamel.yaml) | "
            f"{seconds_text(compile_['compile']['import'])} | |",
            f"|   parse + type-check, examples skipped (`check_pack`) | "
            f"{seconds_text(compile_['compile']['check'])} | |",
            f"|   compile + render SQL (`compile_model`) | "
            f"{seconds_text(compile_['compile']['compile'])} | |",
            f"| the same without cached bytecode (this environment: PYTHONDONTWRITEBYTECODE="
            f"{os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')}) | "
            f"{seconds_text(compile_['compile_no_bytecode']['wall'])} | |",
            f"| `oversight compile --dialect duckdb` (the CLI also imports pyarrow, DuckDB and "
            f"the ADBC drivers) | {seconds_text(compile_['cli_compile']['wall'])} | |",
            f"| `oversight check --no-examples` (parses and checks the examples, compiles all "
            f"12 dialects to compare "
            f"with compiled/) | {seconds_text(compile_['cli_check']['wall'])} | |",
        ]
    )
    lines += [
        "",
        "Where the engine's time goes (all 35 models, summed over models; "
        f"median of {report['split_repeat']} run(s) of the split):",
        "",
        "| step | " + " | ".join(f"{s['size_label']}x" for s in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for step, title in (
        ("connect", "open the DuckDB file"),
        ("reviewed", "read compiled/'s current files (fingerprint, digests)"),
        ("dialect_import", "import sqlglot's duckdb dialect (first render, if any)"),
        ("compile", "`compile_model`"),
        ("render", "render SQL text"),
        ("query", "DuckDB runs the query"),
        ("warnings", "rows → warnings (Python)"),
        ("total", "total"),
    ):
        cells = [f"{s['series']['split'][step]['median']:.2f} s" for s in sizes]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    for s in sizes:
        lines += [
            "",
            f"Slowest models at {s['size_label']}x: engine query time vs the hand-written "
            "query (medians):",
            "",
            "| model | engine query | hand-written | ratio |",
            "|---|---|---|---|",
        ]
        for model, engine_q, hand_q in s["slowest"]:
            lines.append(
                f"| {model} | {engine_q:.3f} s | {hand_q:.3f} s | {engine_q / hand_q:.1f} |"
            )
    m = report["machine"]
    lines += [
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {memory_text(m['memory_bytes'])} RAM, "
        f"{m['os']}; Python {m['python']}, DuckDB {m['duckdb']} ({m['duckdb_threads']} threads), "
        f"sqlglot {m['sqlglot']}, pyarrow {m['pyarrow']}, pandas {m['pandas']}. "
        f"As of {report['as_of']}, {report['repeat']} repetitions, median (min–max). "
        f"Load average before/after: {report['load_before']} / {report['load_after']}.",
    ]
    return "\n".join(lines) + "\n"


def summarise_size(dataset: data.Dataset, series: dict[str, Series]) -> dict[str, Any]:
    """Medians, ratios and the slowest models of one size, ready for JSON and Markdown."""
    keys = {
        "engine": ("models", "import", "check", "in_process", "wall", "max_rss"),
        "engine_compiling": ("models", "wall", "max_rss"),
        "hand": ("models", "import", "in_process", "wall", "max_rss"),
        "hand_keys": ("models", "wall", "max_rss"),
        "engine_subset": ("models", "wall", "max_rss"),
        "hand_subset": ("models", "wall", "max_rss"),
        "pandas": ("models", "read", "compute", "import", "wall", "max_rss"),
        "split": (
            "connect",
            "reviewed",
            "dialect_import",
            "compile",
            "render",
            "query",
            "warnings",
            "total",
            "wall",
            "max_rss",
        ),
    }
    stats = {
        name: {key: series[name].stats(key) for key in wanted}
        for name, wanted in keys.items()
        if series[name].runs
    }
    ratios = {
        "engine_over_hand": series["engine"].median("models") / series["hand"].median("models"),
        "engine_compiling_over_hand": series["engine_compiling"].median("models")
        / series["hand"].median("models"),
        "engine_over_hand_keys": series["engine"].median("models")
        / series["hand_keys"].median("models"),
        "engine_over_pandas": series["engine_subset"].median("models")
        / series["pandas"].median("models"),
        "hand_over_pandas": series["hand_subset"].median("models")
        / series["pandas"].median("models"),
    }
    query = {
        model: statistics.median(
            r.result["per_model"][model]["query"] for r in series["split"].runs
        )
        for model in series["split"].runs[0].result["per_model"]
    }
    hand = {
        model: statistics.median(r.result["per_model"][model] for r in series["hand"].runs)
        for model in query
    }
    slowest = sorted(query, key=lambda m: -query[m])[:8]
    return {
        "size": dataset.size,
        "size_label": data.size_label(dataset.size),
        "seed": dataset.seed,
        "rows": dataset.total_rows,
        "generate_seconds": dataset.generate_seconds,
        "load_seconds": dataset.load_seconds,
        "duckdb_file_bytes": dataset.duckdb.stat().st_size,
        "series": stats,
        "ratios": ratios,
        "per_model_query": query,
        "per_model_hand": hand,
        "slowest": [(m, query[m], hand[m]) for m in slowest],
        "raw": {
            name: [
                {"wall": r.wall, "max_rss": r.max_rss, "load": r.load, **r.result} for r in s.runs
            ]
            for name, s in series.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Prepare each size, measure everything, check the baselines agree, report; exit 1 if not."""
    parser = argparse.ArgumentParser(
        description="Benchmark the engine against hand-written SQL and pandas."
    )
    parser.add_argument("--sizes", default="1,10", help="size factors, e.g. 1,10,100")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2021, 12, 31))
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--split-repeat",
        type=int,
        default=1,
        help="repetitions of the step-by-step split of the engine's time (a diagnosis)",
    )
    parser.add_argument("--skip-compile", action="store_true", help="skip the compile figures")
    args = parser.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    report: dict[str, Any] = {
        "as_of": args.as_of.isoformat(),
        "repeat": args.repeat,
        "split_repeat": args.split_repeat,
        "seed": args.seed,
        "machine": machine(),
        "load_before": load_average(),
        "pandas_models": PANDAS_MODELS,
        "targets": TARGETS,
    }
    datasets = [data.prepare(size, args.seed, log=log) for size in sizes]
    # Untimed: fill the bytecode cache, so that no measured process compiles sources.
    log("warming up (bytecode cache) …")
    PYCACHE.mkdir(parents=True, exist_ok=True)
    smallest = min(datasets, key=lambda d: d.size)
    for task, options in (
        ("compile", {}),
        ("engine", {"db": smallest.duckdb, "models": "ENG01"}),
        ("hand", {"db": smallest.duckdb, "models": "ENG01"}),
        ("hand", {"db": smallest.duckdb, "models": "ENG01", "baseline": "keys"}),
        ("pandas", {"parquet": smallest.parquet, "models": "ENG01"}),
    ):
        worker(task, child_env(True), **options)
    cli_check(child_env(True))
    cli_compile(child_env(True))

    if not args.skip_compile:
        series = measure_compile(max(args.repeat, 5), log)
        startup = spawn([sys.executable, "-c", "pass"], "python", child_env(True), False)
        report["compile"] = {
            name: {
                key: s.stats(key)
                for key in (
                    ("wall", "max_rss")
                    if name in ("cli_check", "cli_compile")
                    else ("wall", "max_rss", "import", "check", "compile", "in_process")
                )
            }
            for name, s in series.items()
        }
        report["compile"]["startup_seconds"] = statistics.median(
            r.wall - r.result["seconds"]["in_process"] for r in series["compile"].runs
        )
        report["compile"]["bare_python_seconds"] = startup.wall
    problems: list[str] = []
    report["sizes"] = []
    for dataset in datasets:
        series, found = measure_size(dataset, args.as_of, args.repeat, args.split_repeat, log)
        problems += found
        if found:
            report["sizes"].append({"size": dataset.size, "problems": found})
            break
        report["sizes"].append(summarise_size(dataset, series))
    report["load_after"] = load_average()
    report["problems"] = problems

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    json_path = args.out / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    if problems:
        print("The baselines disagree with the engine; no figures reported:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    text = markdown(report)
    (args.out / f"bench-{stamp}.md").write_text(text)
    print(text)
    log(f"wrote {json_path}")
    shutil.copyfile(json_path, args.out / "latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
