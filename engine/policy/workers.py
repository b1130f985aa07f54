"""`oversight check`'s examples on two cores: half the models' examples in a forked process.

A cold check spends most of its time running the examples (157 in the demo pack,
each a few milliseconds of DuckDB, sqlglot and Python), all in one thread; the
machines the edit loop runs on have two cores or more. After the pack is checked,
the process forks: the child runs the examples of about half the models, the
parent the others, each on an in-memory DuckDB of its own, and the child sends
its outcomes back through a pipe (pickled `ExampleOutcome`s). The outcomes are
put in the models' order: the same as one process gives (tests/engine/
test_check_workers.py holds the two to it).

The fork happens before this process imports DuckDB, whose import starts a thread
of its own (a forked child would inherit its state without the thread); where
DuckDB is loaded already, fork is missing (Windows), no second core is free, or
the work is too little to pay for a second process (an edited model's few
examples), everything runs here. sqlglot and the compiler are imported before
the fork, so that neither process imports them twice.

The child is part of the command: Ctrl-C reaches both (the child dies of it at
once, quietly); a SIGTERM to the parent, or any error in it, kills and reaps the
child before the command ends as interrupted (130) or failed. A child that dies
without answering is said as one error, `WorkerDied`, never a hang.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dsl import ir
from engine import signals
from engine.policy.check import ExampleOutcome

Progress = Callable[[int, int], None]

FEWEST = 40
"""Fewer examples than this run in one process. A second one costs about 0.15 s of work
(forking, importing DuckDB, its own database and tables, a page copied at each first
write), 0.1 s of it before its first example: a few models' examples (about 6 ms each)
end sooner in one process."""


def default_jobs() -> int:
    """How many processes run the examples: two where a second core is free, else one.

    Free by the last minute's load average: below the cores less one (on two cores,
    less than one core busy). Where the other processes keep the cores busy, a second
    process only takes turns with the first and adds its own start (about 15 % more
    work): at a load of 1–3 on two cores the check took as long or up to a third
    longer than in one process. The answer is the same either way.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): take the cores as free
        busy = 0.0
    return 2 if cores >= 2 and busy < cores - 1 else 1


def run_examples_split(
    pack: ir.CheckedPack,
    models: list[ir.Model],
    progress: Progress | None = None,
    jobs: int | None = None,
) -> list[ExampleOutcome]:
    """Every example of `models`, in `jobs` processes (two at most), outcomes in their order.

    `progress` hears (models done, models) as `run_examples` says it; the child's
    models count as done when its answer arrives.
    """
    jobs = default_jobs() if jobs is None else jobs
    examples = sum(len(model.examples) for model in models)
    serial = (
        jobs < 2
        or examples < FEWEST
        or len(models) < 2
        or not hasattr(os, "fork")
        or "duckdb" in sys.modules
    )
    if serial:
        from engine.policy.examples import run_examples  # DuckDB: only now

        return run_examples(pack, models, progress=progress)
    for module in ("engine.compiler.compile", "sqlglot.dialects.duckdb"):
        importlib.import_module(module)  # once, for both processes
    mine, theirs = halves(models)
    worker = Worker.start(pack, theirs)
    try:
        signals.point("check.forked")
        from engine.policy.examples import run_examples

        told = (lambda done, _: progress(done, len(models))) if progress else None
        ours = run_examples(pack, mine, progress=told)
        others = worker.outcomes()
    finally:
        worker.stop()
    if progress is not None:
        progress(len(models), len(models))
    by_model: dict[str, list[ExampleOutcome]] = {}
    for outcome in [*ours, *others]:
        by_model.setdefault(outcome.model_id, []).append(outcome)
    return [outcome for model in models for outcome in by_model.get(model.id, [])]


def cost(model: ir.Model) -> int:
    """A model's examples' time, roughly, in examples.

    Compiling and preparing its query is about two; a pre-check example runs it twice.
    """
    return 2 + sum(2 if example.pending else 1 for example in model.examples)


def halves(models: Iterable[ir.Model]) -> tuple[list[ir.Model], list[ir.Model]]:
    """The models in two lists of about equal `cost`, each in the given order.

    The costliest first, each to the lighter half; the parent's half (the first)
    takes a tie, since the child starts a moment later.
    """
    models = list(models)
    weights = [0, 0]
    side: dict[str, int] = {}
    for model in sorted(models, key=cost, reverse=True):
        lighter = 0 if weights[0] <= weights[1] else 1
        side[model.id] = lighter
        weights[lighter] += cost(model)
    return (
        [m for m in models if side[m.id] == 0],
        [m for m in models if side[m.id] == 1],
    )


class WorkerDied(Exception):
    """check's second process ended without its answer (killed, out of memory, a crash)."""

    def __init__(self, how: str) -> None:
        super().__init__(
            f"检查示例的第二个进程意外结束（{how}），示例未全部运行；可用 --jobs 1 "
            f"在一个进程中检查 / check's second process ended unexpectedly ({how}) before "
            "all examples ran; --jobs 1 checks in one process"
        )


@dataclass
class Worker:
    """The forked child running some models' examples, and the pipe it answers through."""

    pid: int
    answer: int  # the pipe's read end
    reaped: bool = False

    @classmethod
    def start(cls, pack: ir.CheckedPack, models: list[ir.Model]) -> Worker:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_end)
            _child(pack, models, write_end)
        os.close(write_end)
        return cls(pid, read_end)

    def outcomes(self) -> list[ExampleOutcome]:
        """The child's outcomes, once it has sent them all; what it raised is raised here."""
        chunks = []
        while chunk := os.read(self.answer, 1 << 16):
            chunks.append(chunk)
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        try:
            kind, payload = pickle.loads(b"".join(chunks))
        except Exception:  # nothing, or half an answer: it died writing
            raise WorkerDied(_ended(status)) from None
        if kind == "raised":
            raise payload
        return payload

    def stop(self) -> None:
        """Kill the child if it still runs (the parent failed or was interrupted), and reap it."""
        os.close(self.answer)
        if not self.reaped:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.reaped = True


def _ended(status: int) -> str:
    """How a child without an answer ended, for people."""
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return f"被信号 {name} 终止 / killed by {name}"
    return f"退出码 {os.waitstatus_to_exitcode(status)} / exit status {os.WEXITSTATUS(status)}"


def _child(pack: ir.CheckedPack, models: list[ir.Model], write_end: int) -> None:
    """Run the examples of `models` and write the outcomes to `write_end`; then exit at once.

    Ctrl-C and SIGTERM end it the operating system's way: the parent says what
    happened. `os._exit`: neither the parent's buffered output nor its exit
    handlers run a second time here.
    """
    code = 0
    try:
        signal.set_wakeup_fd(-1)  # the parent's signal watcher is the parent's
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signals.point("check.worker")
        from engine.policy.examples import run_examples

        try:
            answer = ("outcomes", run_examples(pack, models))
        except Exception as exc:  # raised in the parent, as one process would raise it
            answer = ("raised", exc)
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # what does not pickle is sent as words
            kind, what = answer
            said = f"{type(what).__name__}: {what}" if kind == "raised" else str(exc)
            data = pickle.dumps(("raised", RuntimeError(said)))
        view = memoryview(data)
        while view:
            view = view[os.write(write_end, view) :]
    except BaseException:
        code = 1
    finally:
        os._exit(code)
