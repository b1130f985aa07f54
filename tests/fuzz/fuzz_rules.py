"""Fuzz `oversight check` with the pack's own rule files, damaged (see mutations.py).

    python tests/fuzz/fuzz_rules.py --count 20000 --seed 13 --workers 1 --out fuzz-failures

Each case takes one rule file of policies/ (a model, the index or the shared
definitions), damages it, and does in-process what `oversight check` does
with the pack holding that file, classifying the outcome:

- ok           the pack checks, the file's models compile and their examples pass;
- diagnostics  `check` would list problems and exit 2;
- internal     anything else escaped — what `check` would exit 70 on — or an
               example "could not run" because of an internal error;
- slow         it took more than --limit seconds (2 by default) of CPU time;
- hang         it ran past --hang seconds of wall time and was stopped.

What a case does, and so what "a file's time" means: read the damaged file
as `check` reads it (UTF-8, universal newlines), parse it, check the whole
pack (the other files parsed once, up front, as they don't change), render
the diagnostics as `check` prints them (text and JSON), and, when the pack
checks, compile the file's own models (or the index) for every dialect the
way compiled/ is written and run those models' inline examples on DuckDB. A
mutated shared-definitions file is followed through one model that uses it,
picked by the case's seed. Not done per case: comparing with compiled/ (a
damaged file is always stale) and the other 34 models' examples, which don't
change — doing them would make 20,000 cases take days.

The time is the process's CPU time for all of that, DuckDB's threads included:
the machine this runs on is shared, and wall-clock time there measures the
neighbours. Wall time is reported beside it.

Every case is determined by (seed, number): the verdicts are the same for any
number of workers (the times are not), and `--replay N` re-runs case N alone. Failures (internal,
slow, hang) are saved to --out as the damaged file plus a JSON with the
mutations and the traceback.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT, ROOT / "tests"):  # run as a script: the engine and tests/fuzz importable
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fuzz.mutations import mutate  # noqa: E402

from adapters.duckdb import DuckDBWarehouse  # noqa: E402
from dsl import ir  # noqa: E402
from dsl.check import PackChecker as Checker  # noqa: E402
from dsl.check import rule_files  # noqa: E402
from dsl.diagnostics import DiagnosticError, has_errors, render_human, render_json  # noqa: E402
from dsl.node import walk  # noqa: E402
from dsl.pack import load_pack  # noqa: E402
from dsl.parser import parse_file  # noqa: E402
from engine import __version__  # noqa: E402
from engine.api import index_sql_file, sql_file  # noqa: E402
from engine.compiler.compile import DIALECTS, Target, compile_model  # noqa: E402
from engine.policy.examples import run_examples  # noqa: E402

POLICIES = ROOT / "policies"


@dataclass
class Outcome:
    """What one case did."""

    case: int
    file: str
    mutations: list[str]
    verdict: str  # ok | diagnostics | internal | slow | hang
    cpu: float
    wall: float
    codes: list[str] = field(default_factory=list)
    error: str = ""


class _Hang(Exception):
    """Raised by the alarm when a case runs past --hang seconds."""


# Whether the alarm went off during the current case: DuckDB turns the signal into
# its own "Query interrupted" error, which is a hang all the same, not a bug.
_ALARMED = False


class Fuzzer:
    """One worker: the pack copied to a scratch folder, its unchanged files parsed once."""

    def __init__(self, seed: int, limit: float, hang: int) -> None:
        self.seed = seed
        self.limit = limit
        self.hang = hang
        self.folder = Path(tempfile.mkdtemp(prefix="oversight-fuzz-"))
        self.root = self.folder / "policies"
        shutil.copytree(POLICIES, self.root)
        self.pack = load_pack(self.root, __version__)
        self.files = [str(p) for p in rule_files(self.root)]
        self.texts = {f: Path(f).read_text(encoding="utf-8") for f in self.files}
        self.parsed = {f: parse_file(f, self.texts[f]) for f in self.files}
        checked = Checker(self.pack, []).check(list(self.parsed.values()))
        # Which models use each shared file's definitions and relations (for shared files).
        self.users: dict[str, list[str]] = {}
        for name, model in sorted(checked.models.items()):
            for node in walk(model):
                used = None
                if isinstance(node, ir.DefCall):
                    used = checked.defines[node.name].span.file
                elif isinstance(node, ir.LookupCall):
                    used = checked.lookups[node.name].span.file
                elif isinstance(node, ir.From) and node.binding.is_relation:
                    used = checked.relations[node.binding.source].span.file
                if used is not None and name not in self.users.setdefault(used, []):
                    self.users[used].append(name)
        self.warehouse = DuckDBWarehouse("duckdb:///:memory:")

    def close(self) -> None:
        self.warehouse.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def shown(self, file: str) -> str:
        """A file as the summary names it: policies/…"""
        return Path(file).relative_to(self.folder).as_posix()

    def case(self, number: int) -> tuple[str, str, list[str], random.Random]:
        """The file, damaged text and mutations of case `number`: the same for every run."""
        rng = random.Random(f"{self.seed}:{number}")
        file = rng.choice(self.files)
        text, applied = mutate(self.texts[file], rng)
        return file, text, applied, rng

    def run(self, number: int) -> tuple[Outcome, str]:
        file, text, applied, rng = self.case(number)
        path = Path(file)
        path.write_text(text, encoding="utf-8")
        global _ALARMED
        _ALARMED = False
        if self.hang:
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(self.hang)
        cpu, wall = time.process_time(), time.perf_counter()
        outcome = Outcome(number, self.shown(file), applied, "ok", 0.0, 0.0)
        try:
            codes = self.check(file, path.read_text(encoding="utf-8"), rng)
            outcome.codes = codes
            if codes:
                outcome.verdict = "diagnostics"
            if any(c == "internal" for c in codes):
                outcome.verdict = "internal"
        except _Hang:
            outcome.verdict = "hang"
        except BaseException as exc:  # whatever escapes is what the fuzzer is after
            if isinstance(exc, KeyboardInterrupt):
                raise
            outcome.verdict = "hang" if _ALARMED else "internal"
            outcome.error = "".join(traceback.format_exception(exc))[-4000:]
        finally:
            if self.hang:
                signal.alarm(0)
            outcome.cpu = time.process_time() - cpu
            outcome.wall = time.perf_counter() - wall
            path.write_text(self.texts[file], encoding="utf-8")
        if _ALARMED:  # however the interrupted work ended: DuckDB may report it as failed
            outcome.verdict = "hang"
        if outcome.verdict in ("ok", "diagnostics") and outcome.cpu > self.limit:
            outcome.verdict = "slow"
        return outcome, text

    def check(self, file: str, text: str, rng: random.Random) -> list[str]:
        """What `oversight check` finds for the pack with `file` reading `text`: its codes.

        "internal" among them marks an example that could not run because of a bug.
        """
        diagnostics = []
        files = [self.parsed[f] for f in self.files if f != file]
        try:
            files.append(parse_file(file, text))
        except DiagnosticError as err:
            assert err.diagnostics, "a DiagnosticError without diagnostics"
            diagnostics.extend(err.diagnostics)
            if err.partial is not None:
                files.append(err.partial)
        checked = Checker(self.pack, diagnostics).check(files)
        if not has_errors(diagnostics):
            own = [m for m in checked.models.values() if m.file == file]
            if not own and file in self.users:
                chosen = rng.choice(self.users[file])
                own = [checked.models[chosen]] if chosen in checked.models else []
            for dialect in DIALECTS:
                for model in own:
                    try:
                        sql_file(compile_model(model, checked, Target(dialect)), checked)
                    except DiagnosticError as err:
                        diagnostics.extend(err.diagnostics)
                if checked.index is not None and checked.index.file == file:
                    index_sql_file(checked, dialect)
            for example in run_examples(checked, own, self.warehouse):
                diagnostics.extend(example.problems)
        render_human(diagnostics, {file: text})
        render_json(diagnostics)
        codes = [d.code for d in diagnostics if d.severity.value != "warning"]
        if any("internal error" in d.message_en for d in diagnostics):
            codes.append("internal")
        return codes


def _alarm(signum: int, frame: object) -> None:
    global _ALARMED
    _ALARMED = True
    raise _Hang


_WORKER: Fuzzer | None = None


def _start_worker(seed: int, limit: float, hang: int) -> None:
    global _WORKER
    _WORKER = Fuzzer(seed, limit, hang)


def _run_case(number: int) -> tuple[Outcome, str]:
    assert _WORKER is not None
    return _WORKER.run(number)


def main(argv: list[str] | None = None) -> int:
    """Run the cases; print a summary; exit 1 if any case was internal, slow or hung."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="how many cases (default 1000)")
    parser.add_argument("--seed", type=int, default=13, help="the seed (default 13)")
    parser.add_argument("--start", type=int, default=0, help="the first case number (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--limit", type=float, default=2.0, help="CPU seconds that are too slow")
    parser.add_argument(
        "--hang", type=int, default=60, help="wall seconds to give up after (0: never)"
    )
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="reproducers")
    parser.add_argument("--replay", type=int, default=None, help="run case N alone, verbosely")
    args = parser.parse_args(argv)
    out = args.out.resolve()

    if args.replay is not None:
        fuzzer = Fuzzer(args.seed, args.limit, args.hang)
        try:
            outcome, _ = fuzzer.run(args.replay)
        finally:
            fuzzer.close()
        print(json.dumps(asdict(outcome), ensure_ascii=False, indent=2))
        return 0 if outcome.verdict in ("ok", "diagnostics") else 1

    numbers = range(args.start, args.start + args.count)
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with multiprocessing.get_context("fork").Pool(
        args.workers, _start_worker, (args.seed, args.limit, args.hang)
    ) as pool:
        for done, (outcome, text) in enumerate(pool.imap(_run_case, numbers, chunksize=4), 1):
            outcomes.append(outcome)
            if outcome.verdict not in ("ok", "diagnostics"):
                _save(out, outcome, text)
                print(
                    f"case {outcome.case}: {outcome.verdict} {outcome.file} "
                    f"{outcome.mutations} {outcome.cpu:.2f}s",
                    flush=True,
                )
            if done % 500 == 0:
                print(f"… {done} cases, {time.perf_counter() - started:.0f} s", flush=True)
    _summary(outcomes, args, time.perf_counter() - started)
    bad = [o for o in outcomes if o.verdict not in ("ok", "diagnostics")]
    return 1 if bad else 0


def _save(out: Path, outcome: Outcome, text: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    name = f"case{outcome.case:06d}-{outcome.verdict}"
    (out / f"{name}.rule").write_text(text, encoding="utf-8")
    (out / f"{name}.json").write_text(
        json.dumps(asdict(outcome), ensure_ascii=False, indent=2), encoding="utf-8"
    )


def _summary(outcomes: list[Outcome], args: argparse.Namespace, wall: float) -> None:
    verdicts = Counter(o.verdict for o in outcomes)
    print(
        f"\n{len(outcomes)} mutations, seed {args.seed}, cases {args.start}…"
        f"{args.start + len(outcomes) - 1}, {args.workers} worker(s), {wall:.0f} s wall"
    )
    for verdict in ("ok", "diagnostics", "internal", "slow", "hang"):
        print(f"  {verdict:12} {verdicts.get(verdict, 0)}")
    kinds = Counter(kind for o in outcomes for kind in set(o.mutations))
    print("mutations applied (cases):", ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    codes = Counter(code for o in outcomes for code in set(o.codes))
    print("codes (cases):", ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
    cpu = sorted(outcomes, key=lambda o: o.cpu, reverse=True)[:10]
    print(f"slowest (CPU s, limit {args.limit}):")
    for o in cpu:
        print(
            f"  case {o.case:6}  {o.cpu:5.2f} cpu  {o.wall:5.2f} wall  {o.verdict:11} "
            f"{o.file}  {'+'.join(o.mutations)}"
        )
    print(f"longest wall time: {max((o.wall for o in outcomes), default=0):.2f} s")


if __name__ == "__main__":
    sys.exit(main())
