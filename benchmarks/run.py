"""The benchmark: the engine against hand-written SQL and pandas on the demo county at 1x/10x/100x.

    python3 benchmarks/run.py --sizes 1,10,100 [--repeat 3] [--as-of 2021-12-31]
                              [--out benchmarks/results]

For each size the county is generated once to Parquet and loaded into a
DuckDB file (both cached under benchmarks/.data/). Every measurement then
runs in a fresh child process (benchmarks/worker.py), repetitions
interleaved so that a burst of load on a shared machine hits all
contenders alike; figures are medians with min and max. Peak memory is the
sum of the peak resident sizes (VmHWM) of the child's own processes, which the
worker reads from /proc before it ends. Before anything is reported, the
hand-written SQL must raise exactly the engine's warnings for all 35 models
(keys, townships and, for the baseline the ratio is measured against, every
message word for word), and pandas exactly the engine's keys and townships
for its models: a baseline that computes something else is no baseline.
At sizes up to 10 the same run of the 35 models on Spark (`local-cluster`,
two executor JVMs) runs beside them, its start-up and its event log timed
apart, and must raise the DuckDB engine's warnings word for word too
(benchmarks/README.md, "Spark beside DuckDB").

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
import spark_events  # noqa: E402

WORKER = HERE / "worker.py"
# The `engine_overrides` contender's deployment: a county's own thresholds.
OVERRIDES = HERE / "county_overrides.yaml"
PYCACHE = data.DATA / "pycache"
PANDAS_MODELS = sorted(pandas_models.MODELS)
TARGETS = {
    "compile_seconds": 1.0,  # parse + type-check + compile, cold process included
    "models_1x_seconds": 2.0,  # all 35 models at 1x on DuckDB
    "models_100x_seconds": 12.0,  # all 35 models at 100x on DuckDB
    "memory_100x_bytes": 8 * 1024**3,  # all 35 models at 100x
    "ratio_to_hand_sql": 0.8,  # at 10x and 100x
    "ratio_bound_to_compiled_in": 1.1,  # a county's own values bound / the same compiled in
    "check_cold_seconds": 2.0,  # `oversight check`, nothing cached, a fresh process
    "check_edited_seconds": 0.5,  # `oversight check` after editing one model
    "check_no_examples_seconds": 1.0,  # `oversight check --no-examples`, nothing cached
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
    command: list[str],
    task: str,
    env: dict[str, str],
    parse_json: bool = True,
    timeout: float = 0,
    exits: tuple[int, ...] = (0,),
) -> Run:
    """Run one child to its end; its wall time, peak RSS (os.wait4) and last line of JSON.

    An exit code not in `exits` is a failure (`check` exits 2 for a pack it finds at fault).
    """
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
    if process.returncode not in exits:
        raise WorkerFailed(f"{task} exited {process.returncode}:\n{stderr[-4000:]}")
    result = json.loads(stdout.strip().splitlines()[-1]) if parse_json else {}
    # os.wait4's ru_maxrss starts from this process's resident size at the fork (Linux keeps
    # the high-water mark across exec): every child of a parent holding 1 GiB "peaks" at
    # 1 GiB. A worker reports its own processes' peaks (VmHWM), which are what it used.
    peak = result["memory"]["total"] if "memory" in result else usage.ru_maxrss * 1024
    return Run(task, wall, peak, result, load)


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


def cli_check(
    env: dict[str, str],
    policies: Path | None = None,
    options: tuple[str, ...] = ("--no-examples", "--no-cache"),
) -> Run:
    """`oversight check OPTIONS` as a user types it, on the pack at `policies` (default ./policies).

    pandas stays importable, as on the machine of a user who has it: check imports it
    no more (tests/engine/test_cli_lazy.py says so).

    The options default to `--no-examples --no-cache`, as every figure before the check
    series was taken. With --no-cache nothing is read from or
    written to the pack's .oversight/ cache, as in the first check of a fresh clone (and
    CI). Its JSON (ok, models, examples, models_from_cache) is the run's result.
    """
    command = [sys.executable, "-c", _CLI, "check", *options, "--format", "json"]
    if policies is not None:
        command += ["--policies", str(policies)]
    return spawn(command, "cli_check", env, exits=(0, 2))


CHECKS = ("check_cold", "check_unchanged", "check_edited", "check_no_examples")
"""The series of `oversight check` in the edit loop (benchmarks/README.md says each)."""

EDITED_MODEL = ("models/funds/FUN06.rule", "请核查。")
"""The file the "edited" series changes, and the text it changes in its message and in
each of its examples' expected messages alike, so that the examples still pass."""


class CheckPack:
    """A copy of the pack and compiled/ for the check series, edited as they need."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="oversight-check-bench-"))
        shutil.copytree(
            ROOT / "policies", self.folder / "policies", ignore=shutil.ignore_patterns(".*")
        )
        shutil.copytree(ROOT / "compiled", self.folder / "compiled")
        self.policies = self.folder / "policies"
        self.edits = 0

    def edit(self) -> None:
        """Change one model's message (and its examples' expectations) to a text not seen yet."""
        self.edits += 1
        self._replace(EDITED_MODEL[1], self._edited())

    def undo(self) -> None:
        """The model as it was (what compiled/ was made from), for the next repetition."""
        self._replace(self._edited(), EDITED_MODEL[1])

    def _edited(self) -> str:
        return EDITED_MODEL[1].replace("。", f"{self.edits}。")

    def _replace(self, old: str, new: str) -> None:
        rule = self.policies / EDITED_MODEL[0]
        rule.write_text(rule.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def same_values_pack(folder: Path) -> Path:
    """The pack with county_overrides.yaml's values as its defaults, compiled, in `folder`.

    The `engine_same_values` contender runs it: the same thresholds as
    `engine_overrides` but written into compiled/, so the two raise the same
    warnings and their ratio is what binding a county's own values costs, with
    no difference in the work the thresholds ask for.
    """
    from ruamel.yaml import YAML

    yaml = YAML()
    policies = folder / "policies"
    shutil.copytree(ROOT / "policies", policies, ignore=shutil.ignore_patterns(".*"))
    declared = yaml.load((policies / "pack.yaml").read_text(encoding="utf-8"))
    overrides = yaml.load(OVERRIDES.read_text(encoding="utf-8"))["parameters"]
    for name, value in overrides.items():
        declared["parameters"][name]["default"] = value
    with (policies / "pack.yaml").open("w", encoding="utf-8") as out:
        yaml.dump(declared, out)
    compiled = subprocess.run(
        [sys.executable, "-m", "engine.cli", "compile", "--all", "--policies", str(policies)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if compiled.returncode != 0:
        raise SystemExit(f"compiling the same-values pack failed:\n{compiled.stderr}")
    return policies


def measure_checks(env: dict[str, str], pack: CheckPack) -> dict[str, Run]:
    """One repetition of each check series, each a fresh process, on `pack`.

    The cache is filled (untimed) before the unchanged check; the edited check follows
    an edit of one model, so it type-checks that model and runs its examples, and
    says compiled/ is stale for it (E710, exit 2), as it does for a user before
    `oversight compile --all`. The edit is undone after it (each repetition's edit is
    new text all the same).
    """
    runs = {"check_cold": cli_check(env, pack.policies, ("--no-cache",))}
    cli_check(env, pack.policies, ())  # untimed: the cache as a check of this pack leaves it
    runs["check_unchanged"] = cli_check(env, pack.policies, ())
    pack.edit()
    try:
        runs["check_edited"] = cli_check(env, pack.policies, ())
    finally:
        pack.undo()
    runs["check_no_examples"] = cli_check(env, pack.policies)
    expected = {  # (ok, models from the cache): a figure of another outcome is no figure
        "check_cold": (True, 0),
        "check_unchanged": (True, 35),
        "check_edited": (False, 34),
        "check_no_examples": (True, 0),
    }
    for name, run in runs.items():
        said = (run.result.get("ok"), run.result.get("models_from_cache"))
        if said != expected[name] or run.result["examples_passed"] != run.result["examples"]:
            raise WorkerFailed(f"{name}: {run.result}, expected ok and cached {expected[name]}")
    return runs


def cli_compile(env: dict[str, str]) -> Run:
    """`oversight compile --dialect duckdb` as a user types it (the SQL goes to stdout)."""
    command = [sys.executable, "-c", _CLI, "compile", "--dialect", "duckdb"]
    return spawn(command, "cli_compile", env, parse_json=False)


def warm_files(dataset: data.Dataset, spark: bool = False) -> None:
    """Read the size's files once, so that every contender finds them in the page cache."""
    files = [dataset.duckdb, *sorted(dataset.parquet.glob("*.parquet"))]
    if spark:
        files += sorted(dataset.spark.rglob("*.parquet"))
    for path in files:
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


COMPARED_ONLY = ("keys", "messages")
"""What a contender's result holds only to be compared (its warnings' keys and messages):
checked when measured, not written to the results (29 MB a repetition at 100x)."""


def kept(result: dict[str, Any]) -> dict[str, Any]:
    """A contender's result as the results file keeps it: every figure, not its warnings."""
    return {key: value for key, value in result.items() if key not in COMPARED_ONLY}


def measure_compile(repeat: int, log) -> dict[str, Series]:
    """Parse + check + compile of the whole pack, and the CLI check series, in cold processes."""
    cached, plain = child_env(True), child_env(False)
    series = {
        "compile": Series("compile"),
        "compile_no_bytecode": Series("compile_no_bytecode"),
        "cli_compile": Series("cli_compile"),
        **{name: Series(name) for name in CHECKS},
    }
    pack = CheckPack()
    try:
        cli_check(cached, pack.policies, ("--no-cache",))  # untimed: its modules' bytecode
        for i in range(repeat):
            series["compile"].runs.append(worker("compile", cached))
            series["compile_no_bytecode"].runs.append(worker("compile", plain))
            series["cli_compile"].runs.append(cli_compile(cached))
            for name, run in measure_checks(cached, pack).items():
                series[name].runs.append(run)
            log(
                f"compile {i + 1}/{repeat}: {series['compile'].runs[-1].wall:.2f} s, "
                f"no bytecode cache {series['compile_no_bytecode'].runs[-1].wall:.2f} s, "
                f"oversight compile {series['cli_compile'].runs[-1].wall:.2f} s, "
                + ", ".join(f"{name} {series[name].runs[-1].wall:.2f} s" for name in CHECKS)
            )
    finally:
        pack.close()
    return series


CONTENDERS = (
    "engine",
    "engine_compiling",
    "engine_overrides",
    "engine_same_values",
    "hand",
    "hand_keys",
    "engine_subset",
    "hand_subset",
    "pandas",
    "split",
    "spark",
    "spark_local",
)
"""What `--contenders` may name: the DuckDB contenders, the split, and the two Spark ones."""

SPARK = ("spark", "spark_local")


def measure_size(
    dataset: data.Dataset,
    as_of: dt.date,
    repeat: int,
    split_repeat: int,
    log,
    contenders: tuple[str, ...] = CONTENDERS,
    spark_masters: dict[str, str] | None = None,
    timeout: float | None = None,
    same_values: Path | None = None,
) -> tuple[dict[str, Series], list[str]]:
    """Every contender at one size, repetitions interleaved; and any disagreement.

    The step-by-step split of the engine's time is a diagnosis, not a
    contender: it runs in the first `split_repeat` repetitions only.
    `spark_masters` names the Spark contenders measured at this size and their
    masters (`spark`: local-cluster, `spark_local`: local[2]); each must raise
    exactly the DuckDB engine's warnings, messages included. `same_values` is the
    pack `same_values_pack` made, which `engine_same_values` runs.
    """
    env = child_env(True)
    db, parquet = dataset.duckdb, dataset.parquet
    subset = ",".join(PANDAS_MODELS)
    plan = [
        ("engine", "engine", {"db": db}),
        ("engine_compiling", "engine", {"db": db, "sql": "compile"}),
        ("engine_overrides", "engine", {"db": db, "deployment": OVERRIDES}),
        ("engine_same_values", "engine", {"db": db, "policies": same_values}),
        ("hand", "hand", {"db": db, "baseline": "messages"}),
        ("hand_keys", "hand", {"db": db, "baseline": "keys"}),
        ("engine_subset", "engine", {"db": db, "models": subset}),
        ("hand_subset", "hand", {"db": db, "models": subset, "baseline": "messages"}),
        ("pandas", "pandas", {"parquet": parquet, "models": subset}),
        ("split", "split", {"db": db}),
    ]
    for name, master in (spark_masters or {}).items():
        plan.append(
            (name, "spark", {"spark_dir": dataset.spark, "master": master, "timeout": timeout})
        )
    plan = [step for step in plan if step[0] in contenders or step[0] in (spark_masters or {})]
    series = {name: Series(name) for name, _, _ in plan}
    problems: list[str] = []
    warm_files(dataset, spark=bool(spark_masters))
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
        problems += disagreements(series, label)
        if problems:
            break  # a wrong baseline is worthless: stop measuring
    return series, sorted(set(problems))


def disagreements(series: dict[str, Series], label: str) -> list[str]:
    """How the last repetition's contenders differ from the DuckDB engine's warnings."""
    problems: list[str] = []
    if "engine" in series:
        engine = series["engine"].runs[-1].result
        problems += [f"engine: {p}" for p in engine["problems"]]
        all_models = sorted(engine["per_model"])
        for name in ("engine_compiling", "hand", "hand_keys", *SPARK):
            if name in series:
                result = series[name].runs[-1].result
                # A Spark model stopped at --spark-timeout has no answer: it is reported as
                # such (never silently), and the others must still be DuckDB's.
                late = set(result.get("timed_out", []))
                problems += [f"{name}: {p}" for p in result.get("problems", [])]
                problems += [
                    f"{name} vs engine, size {label}: {p}"
                    for p in compare(engine, result, [m for m in all_models if m not in late])
                ]
    if "engine_overrides" in series:  # its own thresholds: other warnings than the engine's
        result = series["engine_overrides"].runs[-1].result
        problems += [f"engine_overrides: {p}" for p in result["problems"]]
        if "engine_same_values" in series:  # the same thresholds compiled in: the same warnings
            same = series["engine_same_values"].runs[-1].result
            problems += [f"engine_same_values: {p}" for p in same["problems"]]
            problems += [
                f"engine_overrides vs engine_same_values, size {label}: {p}"
                for p in compare(same, result, sorted(same["per_model"]))
            ]
    if "engine_subset" in series and "pandas" in series:
        problems += [
            f"pandas vs engine, size {label}: {p}"
            for p in compare(
                series["engine_subset"].runs[-1].result,
                series["pandas"].runs[-1].result,
                PANDAS_MODELS,
            )
        ]
    return problems


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
    whole_pack_only = not sizes  # --whole-pack-only: the table per size says nothing

    def row(title: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {target} |")

    def each(name: str, key: str = "models") -> list[str]:
        return [seconds_text(s["series"][name][key]) if name in s["series"] else "—" for s in sizes]

    def rss(name: str) -> list[str]:
        return [
            memory_text(s["series"][name]["max_rss"]["median"]) if name in s["series"] else "—"
            for s in sizes
        ]

    def ratio(name: str) -> list[str]:
        return [f"{s['ratios'][name]:.2f}" if name in s["ratios"] else "—" for s in sizes]

    row(
        "all 35 models, engine on DuckDB",
        each("engine"),
        f"< {TARGETS['models_1x_seconds']:g} s at 1x, "
        f"< {TARGETS['models_100x_seconds']:g} s at 100x",
    )
    row(
        "  peak RSS of that process",
        rss("engine"),
        f"< {memory_text(TARGETS['memory_100x_bytes'])} at 100x",
    )
    row(
        "  the same compiling every model at run time (as when compiled/ is not current)",
        each("engine_compiling"),
    )
    row(
        "  the same with a deployment's own parameters (benchmarks/county_overrides.yaml)",
        each("engine_overrides"),
    )
    row("  that / the engine", ratio("engine_overrides_over_engine"))
    row(
        "  the same values compiled in as the pack's defaults (the same warnings)",
        each("engine_same_values"),
    )
    row(
        "  **bound / compiled in** (what binding a county's values costs)",
        ratio("engine_overrides_over_same_values"),
        f"≤ {TARGETS['ratio_bound_to_compiled_in']}",
    )
    row("all 35 models, hand-written SQL, the same warnings and messages", each("hand"))
    row("  peak RSS of that process", rss("hand"))
    row(
        "**engine / hand-written SQL**",
        ratio("engine_over_hand"),
        f"≤ {TARGETS['ratio_to_hand_sql']} at 10x and 100x",
    )
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
    if whole_pack_only:
        lines = []
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
            *check_rows(compile_),
        ]
    )
    lines += spark_markdown(sizes)
    split = [s for s in sizes if "split" in s["series"]]
    if split:  # not when --contenders leaves it out
        lines += [
            "",
            "Where the engine's time goes (all 35 models, summed over models; "
            f"median of {report['split_repeat']} run(s) of the split):",
            "",
            "| step | " + " | ".join(f"{s['size_label']}x" for s in split) + " |",
            "|---|" + "---|" * len(split),
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
            cells = [f"{s['series']['split'][step]['median']:.2f} s" for s in split]
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    for s in (s for s in sizes if "slowest" in s):
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


CHECK_TITLES = {
    "check_cold": (
        "`oversight check`, nothing cached (`--no-cache`): parse, type-check, run the 157 "
        "examples, compare compiled/ by its fingerprint",
        "< 2 s",
    ),
    "check_unchanged": ("`oversight check`, nothing changed since the last check", ""),
    "check_edited": (
        "`oversight check` after editing one model's message (FUN06): it is type-checked and "
        "its examples run, compiled/ is stale for it by its files' headers (E710)",
        "< 0.5 s",
    ),
    "check_no_examples": (
        "`oversight check --no-examples --no-cache`: parse and type-check everything, compare "
        "compiled/",
        "< 1 s",
    ),
}


def check_rows(compile_: dict[str, Any]) -> list[str]:
    """The rows of the check series, each against its target (an earlier run's one row)."""
    if "cli_check" in compile_:  # runs before the series: `check --no-examples --no-cache`
        title = "`oversight check --no-examples` (compiled all 12 dialects to compare)"
        return [f"| {title} | {seconds_text(compile_['cli_check']['wall'])} | |"]
    rows = []
    for name, (title, target) in CHECK_TITLES.items():
        stats = compile_[name]["wall"]
        limit = TARGETS[f"{name}_seconds"] if target else None
        met = "" if limit is None else (" **met**" if stats["median"] < limit else " not met")
        rows.append(f"| {title} | {seconds_text(stats)} | {target}{':' if target else ''}{met} |")
    return rows


def spark_markdown(sizes: list[dict[str, Any]]) -> list[str]:
    """The table "Spark beside DuckDB" and the sentences saying what dominates Spark's time."""
    rows = [(s, name) for s in sizes for name in SPARK if name in s.get("spark", {})]
    if not rows:
        return []
    lines = [
        "",
        "Spark beside DuckDB (all 35 models, the same warnings and messages; medians):",
        "",
        "| size | master | DuckDB engine, models | Spark start-up (driver JVM, context, "
        "executors) | opening the warehouse (35 tables) | models | Spark process, wall | "
        "models: Spark ÷ DuckDB | process: Spark ÷ DuckDB | jobs / stages / tasks | time in "
        "jobs | executor run time (CPU, GC) | shuffle written / read | peak memory, "
        "sum of the processes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s, name in rows:
        spark, stats, engine = s["spark"][name], s["series"][name], s["series"]["engine"]
        t = spark["totals"]
        read = t["shuffle_read_remote_bytes"] + t["shuffle_read_local_bytes"]
        at_least = "≥ " if spark.get("timed_out") else ""  # stopped models: a lower bound
        lines.append(
            f"| {s['size_label']}x | `{spark['master']}` | {seconds_text(engine['models'])} | "
            f"{seconds_text(stats['startup'])} | {seconds_text(stats['open'])} | "
            f"{seconds_text(stats['models'])} | {seconds_text(stats['wall'])} | "
            f"{at_least}{s['ratios'][f'{name}_over_engine']:.0f} | "
            f"{at_least}{stats['wall']['median'] / engine['wall']['median']:.0f} | "
            f"{t['jobs']:.0f} / {t['stages']:.0f} / {t['tasks']:.0f} | {t['job_seconds']:.1f} s | "
            f"{t['executor_run_seconds']:.1f} s (CPU {t['executor_cpu_seconds']:.1f} s, "
            f"GC {t['gc_seconds']:.1f} s) | "
            f"{t['shuffle_write_bytes'] / 2**20:.1f} / {read / 2**20:.1f} MiB | "
            f"{memory_text(spark['memory']['total'])} |"
        )
    lines.append("")
    for s, name in rows:
        spark, stats = s["spark"][name], s["series"][name]
        t = spark["totals"]
        startup = stats["startup"]["median"] + stats["open"]["median"]
        models, wall = stats["models"]["median"], stats["wall"]["median"]
        driver = max(models - t["job_seconds"], 0.0)
        opening = statistics.median(
            r["events"]["by_group"].get(spark_events.OUTSIDE, {}).get("jobs", 0)
            for r in s["raw"][name]
        )
        cores = max(spark["executors"], 1) if name == "spark" else 2
        busy = t["executor_run_seconds"] / (cores * t["job_seconds"]) if t["job_seconds"] else 0
        slow = ", ".join(
            f"{m} {spark['per_model'][m]['seconds']:.1f} s "
            f"({spark['per_model'][m]['jobs']:.0f} jobs, {spark['per_model'][m]['tasks']:.0f} "
            "tasks)"
            for m in spark["slowest"][:3]
        )
        if spark.get("timed_out"):
            lines.append(
                f"**At {s['size_label']}x, {', '.join(spark['timed_out'])} did not finish on "
                f"Spark within the limit of {spark['timeout']:.0f} s a model** (stopped, "
                "their time counted to the limit, so Spark's figures are lower bounds; the "
                "other models' warnings are DuckDB's)."
            )
            lines.append("")
        lines.append(
            f"At {s['size_label']}x on `{spark['master']}`: of the process's {wall:.1f} s, "
            f"start-up and opening the warehouse take {startup:.1f} s (opening runs "
            f"{opening:.0f} Spark jobs: reading each table's Parquet schema) and the models "
            f"{models:.1f} s. Within the models, Spark's jobs run for {t['job_seconds']:.1f} s "
            f"and the driver alone (planning each query, the Arrow result to Python, warnings) "
            f"{driver:.1f} s; while jobs run, the executors' tasks use "
            f"{t['executor_run_seconds']:.1f} s of the {cores} cores × "
            f"{t['job_seconds']:.1f} s ({busy:.0%}; of that, on a CPU "
            f"{t['executor_cpu_seconds']:.1f} s), the rest is scheduling, task launch and "
            f"stage boundaries; shuffles write {t['shuffle_write_bytes'] / 2**20:.1f} MiB. "
            f"Slowest: {slow}."
        )
        lines.append("")
    memory = rows[0][0]["spark"][rows[0][1]]["memory"]
    lines.append(
        "Peak memory of Spark is the sum of each process's own peak (VmHWM, read from /proc "
        "before Spark stops: " + ", ".join(sorted(r for r in memory if r != "total")) + "); "
        "the parent's os.wait4 would see only the largest single process among the worker "
        "and its reaped descendants — the executor JVMs are children of the driver JVM."
    )
    return lines


def summarise_size(dataset: data.Dataset, series: dict[str, Series]) -> dict[str, Any]:
    """Medians, ratios and the slowest models of one size, ready for JSON and Markdown.

    Only the contenders that were measured (`--contenders`) appear; a ratio
    appears when both its sides were measured.
    """
    keys = {
        "engine": ("models", "import", "check", "in_process", "wall", "max_rss"),
        "engine_compiling": ("models", "wall", "max_rss"),
        "engine_overrides": ("models", "wall", "max_rss"),
        "engine_same_values": ("models", "wall", "max_rss"),
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
        **{
            name: (
                "import",
                "check",
                "session",
                "executors",
                "startup",
                "open",
                "models",
                "stop",
                "in_process",
                "wall",
                "max_rss",
            )
            for name in SPARK
        },
    }
    stats = {
        name: {key: series[name].stats(key) for key in wanted}
        for name, wanted in keys.items()
        if name in series and series[name].runs
    }
    pairs = {
        "engine_over_hand": ("engine", "hand"),
        "engine_compiling_over_hand": ("engine_compiling", "hand"),
        "engine_overrides_over_engine": ("engine_overrides", "engine"),
        "engine_overrides_over_same_values": ("engine_overrides", "engine_same_values"),
        "engine_over_hand_keys": ("engine", "hand_keys"),
        "engine_over_pandas": ("engine_subset", "pandas"),
        "hand_over_pandas": ("hand_subset", "pandas"),
        **{f"{name}_over_engine": (name, "engine") for name in SPARK},
    }
    ratios = {
        ratio: series[top].median("models") / series[bottom].median("models")
        for ratio, (top, bottom) in pairs.items()
        if top in stats and bottom in stats
    }
    summary: dict[str, Any] = {
        "size": dataset.size,
        "size_label": data.size_label(dataset.size),
        "seed": dataset.seed,
        "rows": dataset.total_rows,
        "generate_seconds": dataset.generate_seconds,
        "load_seconds": dataset.load_seconds,
        "duckdb_file_bytes": dataset.duckdb.stat().st_size,
        "series": stats,
        "ratios": ratios,
        "spark": {name: spark_summary(series[name]) for name in SPARK if name in stats},
        "raw": {
            name: [
                {"wall": r.wall, "max_rss": r.max_rss, "load": r.load, **kept(r.result)}
                for r in s.runs
            ]
            for name, s in series.items()
        },
    }
    if "split" in stats and "hand" in stats:
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
        summary["per_model_query"] = query
        summary["per_model_hand"] = hand
        summary["slowest"] = [(m, query[m], hand[m]) for m in slowest]
    return summary


SPARK_TOTALS = (
    "jobs",
    "stages",
    "tasks",
    "failed_tasks",
    "job_seconds",
    "executor_run_seconds",
    "executor_deserialize_seconds",
    "executor_cpu_seconds",
    "gc_seconds",
    "shuffle_write_bytes",
    "shuffle_read_remote_bytes",
    "shuffle_read_local_bytes",
    "fetch_wait_seconds",
    "input_bytes",
)


def spark_summary(series: Series) -> dict[str, Any]:
    """The medians of a Spark contender's event-log totals, memory, and its slowest models.

    The totals are over the models' jobs only (job group = a model's id): the
    catalog work of opening the warehouse is left out, as its time is.
    """

    def models_total(run: Run, key: str) -> float:
        groups = run.result["events"]["by_group"]
        return sum(t[key] for group, t in groups.items() if group in run.result["per_model"])

    totals = {
        key: statistics.median(models_total(r, key) for r in series.runs) for key in SPARK_TOTALS
    }
    memory = {
        role: statistics.median(r.result["memory"].get(role, 0) for r in series.runs)
        for role in series.runs[0].result["memory"]
    }
    per_model = {
        model: {
            "seconds": statistics.median(r.result["per_model"][model] for r in series.runs),
            **{
                key: statistics.median(
                    r.result["events"]["by_group"].get(model, {}).get(key, 0) for r in series.runs
                )
                for key in ("jobs", "stages", "tasks", "job_seconds", "shuffle_write_bytes")
            },
        }
        for model in series.runs[0].result["per_model"]
    }
    slowest = sorted(per_model, key=lambda m: -per_model[m]["seconds"])[:8]
    return {
        "master": series.runs[0].result["master"],
        "executors": series.runs[0].result["executors"],
        "timeout": series.runs[0].result.get("timeout"),
        "timed_out": sorted({m for r in series.runs for m in r.result.get("timed_out", [])}),
        "totals": totals,
        "memory": memory,
        "per_model": per_model,
        "slowest": slowest,
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
    parser.add_argument(
        "--whole-pack-only",
        action="store_true",
        help="only the whole pack's figures (compile, the check series): no county, no sizes",
    )
    parser.add_argument(
        "--contenders",
        default=",".join(c for c in CONTENDERS if c != "spark_local"),
        help="which to measure, of: " + ", ".join(CONTENDERS) + " (the engine always, "
        "when a Spark contender runs: Spark is checked against its warnings)",
    )
    parser.add_argument(
        "--spark-sizes", default=None, help="sizes of the Spark contenders (default: those ≤ 10)"
    )
    parser.add_argument(
        "--spark-master",
        default="local-cluster[2,1,1024]",
        help="the `spark` contender's master (the `spark_local` one runs on local[2])",
    )
    parser.add_argument("--no-spark", action="store_true", help="no Spark contender")
    parser.add_argument(
        "--spark-timeout",
        type=float,
        default=None,
        help="stop a Spark model's query after this many seconds (reported, not compared)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        help="measure nothing: print the tables of an earlier run's JSON and write its .md",
    )
    args = parser.parse_args(argv)
    if args.render:
        text = markdown(json.loads(args.render.read_text()))
        args.render.with_suffix(".md").write_text(text)
        print(text)
        return 0
    sizes = [] if args.whole_pack_only else [float(s) for s in args.sizes.split(",") if s.strip()]
    contenders = tuple(c.strip() for c in args.contenders.split(",") if c.strip())
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown contenders {', '.join(unknown)} (known: {', '.join(CONTENDERS)})")
    spark_sizes = (
        set()
        if args.no_spark or not set(SPARK) & set(contenders)
        else {float(s) for s in args.spark_sizes.split(",") if s.strip()}
        if args.spark_sizes
        else {s for s in sizes if s <= 10}
    )
    if spark_sizes and "engine" not in contenders:
        contenders = ("engine", *contenders)
    masters = {
        name: master
        for name, master in (("spark", args.spark_master), ("spark_local", "local[2]"))
        if name in contenders
    }
    duckdb_contenders = tuple(c for c in contenders if c not in SPARK)

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
        "contenders": list(contenders),
        "spark_sizes": sorted(spark_sizes),
    }
    datasets = [data.prepare(size, args.seed, log=log) for size in sizes]
    for dataset in datasets:
        if dataset.size in spark_sizes:
            data.prepare_spark(dataset, log=log)
    # Untimed: fill the bytecode cache, so that no measured process compiles sources.
    log("warming up (bytecode cache) …")
    PYCACHE.mkdir(parents=True, exist_ok=True)
    smallest = min(datasets, key=lambda d: d.size) if datasets else None
    for task, options in (
        ("compile", {}),
        *(
            (
                ("engine", {"db": smallest.duckdb, "models": "ENG01"}),
                ("hand", {"db": smallest.duckdb, "models": "ENG01"}),
                ("hand", {"db": smallest.duckdb, "models": "ENG01", "baseline": "keys"}),
                ("pandas", {"parquet": smallest.parquet, "models": "ENG01"}),
            )
            if smallest is not None
            else ()
        ),
    ):
        wanted = {"compile": not args.skip_compile, "engine": True}
        if wanted.get(task, any(c.startswith(task) for c in contenders)):
            worker(task, child_env(True), **options)
    if spark_sizes:  # pyspark's modules too, without starting Spark (that takes seconds)
        spawn(
            [sys.executable, "-c", "import pyspark.sql, adapters.spark, benchmarks.spark_events"],
            "import",
            child_env(True),
            parse_json=False,
        )
    if not args.skip_compile:
        cli_compile(child_env(True))

    if not args.skip_compile:
        series = measure_compile(max(args.repeat, 5), log)
        startup = spawn([sys.executable, "-c", "pass"], "python", child_env(True), False)
        report["compile"] = {
            name: {
                key: s.stats(key)
                for key in (
                    ("wall", "max_rss")
                    if name in ("cli_compile", *CHECKS)
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
    with tempfile.TemporaryDirectory(prefix="oversight-same-values-") as folder:
        same_values = (
            same_values_pack(Path(folder)) if "engine_same_values" in duckdb_contenders else None
        )
        for dataset in datasets:
            series, found = measure_size(
                dataset,
                args.as_of,
                args.repeat,
                args.split_repeat,
                log,
                duckdb_contenders,
                masters if dataset.size in spark_sizes else {},
                args.spark_timeout,
                same_values,
            )
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
