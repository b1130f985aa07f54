"""`oversight check`'s examples on two cores: a second process, started before the rules are read.

Running the examples needs sqlglot's DuckDB dialect and DuckDB itself, about 0.2 s
of imports, and a cold check's 157 examples are most of its time, all in one
thread; the machines the edit loop runs on have two cores or more. So where a
second core is free, `check` forks at once (`oversight check` before it even imports
the language's checker, which the child never needs): the child imports what the
examples need while the parent parses and type-checks the pack, then waits for work.
After the check the parent sends it the models whose examples must run (a pickled
`ir.CheckedPack` holding only them): all of them when they are few (after an edit,
the edited model's), so that the parent never imports DuckDB or sqlglot; about half
of them otherwise, the parent running the rest on its own in-memory DuckDB. The child
sends its outcomes back pickled (`ExampleOutcome`s), and they are put in the models'
order: the same as one process gives (tests/engine/test_check_workers.py holds the two
to it). A check that finds nothing to run ends the child unasked.

Parsing many rule files (a cold check: Lark reads the demo pack's 37 in about half a
second, all in Python) is shared the same way, by another child forked once the
parser is loaded: it parses about half of them, by size, and sends back their trees
(`parse_files`).

The fork happens before this process imports DuckDB, whose import starts a thread
of its own (a forked child would inherit its state without the thread); where
DuckDB is loaded already, fork is missing (Windows) or no second core is free,
everything runs here.

The child is part of the command: Ctrl-C reaches both (the child dies of it at
once, quietly); a SIGTERM to the parent, or any error in it, kills and reaps the
child before the command ends as interrupted (130) or failed. A child that dies
without answering is said as one error, `WorkerDied`, never a hang.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from engine import signals

if TYPE_CHECKING:
    from dsl import ir
    from dsl.check.pack_checker import Parsed, Unparsed
    from engine.policy.outcome import ExampleOutcome

Progress = Callable[[int, int], None]
T = TypeVar("T")

FEWEST = 40
"""Fewer examples than this all run in the second process, the parent importing nothing for
them; more are shared. A share costs the parent its own imports and database (about 0.15 s),
which pays only once there is about that much to run (a few models' examples, about 6 ms
each, do not)."""


def default_jobs() -> int:
    """How many processes run the examples: two where a second core is free now, else one.

    Free by what runs at this instant besides this process (`others_running`): below
    the cores less one (on two cores, nothing else). Where other processes keep the
    cores busy, a second process only takes turns with the first and adds its own
    imports (about 15 % more work): at a load of 1–3 on two cores the check took as
    long or up to a third longer than in one process. The answer is the same either way.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 2 if cores >= 2 and others_running() < cores - 1 else 1


def others_running(loadavg: Path = Path("/proc/loadavg")) -> float:
    """How many other processes want a core now: Linux's count of runnable ones, less this one.

    Not the load average: that is a minute's memory, and an edit loop's own checks,
    a few seconds of one core each, kept it near one on two cores while both were idle
    when the next check started. Elsewhere the load average is what there is (and
    none, on Windows, counts as free).
    """
    try:
        runnable = loadavg.read_text(encoding="ascii").split()[3].partition("/")[0]
        return max(int(runnable) - 1, 0)
    except (OSError, IndexError, ValueError):
        try:
            return os.getloadavg()[0]
        except (AttributeError, OSError):
            return 0.0


def forks(jobs: int) -> bool:
    """Whether check may fork: two `jobs`, fork there (not Windows), and DuckDB not loaded.

    DuckDB's import starts a thread of its own (a library caller's process); a forked
    child would inherit its state without the thread.
    """
    return jobs >= 2 and hasattr(os, "fork") and "duckdb" not in sys.modules


def second_process(jobs: int) -> Worker | None:
    """The examples' second process, forked now (before the rules are read), or None.

    None where check may not fork (`forks`): the examples then run in this process.
    """
    if not forks(jobs):
        return None
    return Worker.start(_run_sent_examples, "check.warming")


def share_examples(
    pack: ir.CheckedPack,
    models: list[ir.Model],
    worker: Worker | None,
    progress: Progress | None = None,
) -> Callable[[], list[ExampleOutcome]]:
    """Run the examples of `models` here and in `worker`; what collects the outcomes, in order.

    This process's share has run when this returns; the worker's may still be
    running, and the caller may do something else until it calls what this
    returns. `progress` hears (models done, models) as `run_examples` says it; the
    child's models count as done when its answer arrives.
    """
    if worker is None:
        from engine.policy.examples import run_examples  # DuckDB: only now

        ran = run_examples(pack, models, progress=progress)
        return lambda: ran
    examples = sum(len(model.examples) for model in models)
    if examples < FEWEST or len(models) < 2:
        mine, theirs = [], models
    else:
        mine, theirs = halves(models)
    worker.ask(pack, theirs)
    signals.point("check.forked")
    ours: list[ExampleOutcome] = []
    if mine:
        from engine.policy.examples import run_examples

        told = (lambda done, _: progress(done, len(models))) if progress else None
        ours = run_examples(pack, mine, progress=told)

    def collect() -> list[ExampleOutcome]:
        others = worker.answer()
        if progress is not None:
            progress(len(models), len(models))
        by_model: dict[str, list[ExampleOutcome]] = {}
        for outcome in [*ours, *others]:
            by_model.setdefault(outcome.model_id, []).append(outcome)
        return [outcome for model in models for outcome in by_model.get(model.id, [])]

    return collect


FEWEST_FILES = 8
"""Fewer rule files to parse than this are parsed here: a second process costs about 40 ms
(forking, its trees pickled and read back), two or three files' parsing."""


def parse_files(jobs: int) -> Callable[[list[Unparsed], bool], list[Parsed]] | None:
    """What parses many rule files in two processes (dsl/check `check_pack`'s `parse`), or None.

    None where check may not fork (`forks`): check_pack then parses every file here. A
    cold check has the examples' child importing meanwhile: three processes for a moment,
    on two cores, which still ends the parsing sooner.
    """
    if not forks(jobs):
        return None
    return _parse_in_two


def _parse_in_two(files: list[Unparsed], examples: bool) -> list[Parsed]:
    """Each of `files` parsed (a tree or its syntax errors), about half of them in a child."""
    from dsl.check.pack_checker import parse_one  # Lark, loaded here for both processes

    if len(files) < FEWEST_FILES:
        return [parse_one(shown, text, examples) for shown, text in files]
    from dsl.parser import lark_parser

    lark_parser()
    mine, theirs = _split(range(len(files)), lambda i: len(files[i][1] or ""))
    child = Worker.start(
        lambda _: [parse_one(*files[i], examples) for i in theirs], "check.parsing"
    )
    try:
        ours = [parse_one(*files[i], examples) for i in mine]
        others = child.answer(_PARSING)
    finally:
        child.stop()
    by_index = dict(zip([*mine, *theirs], [*ours, *others], strict=True))
    return [by_index[i] for i in range(len(files))]


def cost(model: ir.Model) -> int:
    """A model's examples' time, roughly, in examples.

    Compiling and preparing its query is about two; a pre-check example runs it twice.
    """
    return 2 + sum(2 if example.pending else 1 for example in model.examples)


PARENT_BESIDES = 35
"""What the parent does beside its share of the examples, in examples (about 7 ms each):
importing sqlglot and DuckDB, which the child did while the rules were read (about 0.2 s),
and comparing compiled/ (about 0.05 s)."""


def halves(models: Iterable[ir.Model]) -> tuple[list[ir.Model], list[ir.Model]]:
    """The models in two lists whose `cost` ends both processes together, each in the given order.

    The parent's (the first) starts `PARENT_BESIDES` behind.
    """
    return _split(list(models), cost, PARENT_BESIDES)


def _split(
    items: Iterable[T], weight: Callable[[T], int], behind: int = 0
) -> tuple[list[T], list[T]]:
    """`items` in two lists of about equal weight, the first `behind` already; in the given order.

    The heaviest first, each to the lighter half; the parent's half (the first)
    takes a tie, since the child starts a moment later.
    """
    items = list(items)
    weights = [behind, 0]
    side: dict[int, int] = {}
    for at in sorted(range(len(items)), key=lambda i: weight(items[i]), reverse=True):
        lighter = 0 if weights[0] <= weights[1] else 1
        side[at] = lighter
        weights[lighter] += weight(items[at])
    return (
        [item for at, item in enumerate(items) if side[at] == 0],
        [item for at, item in enumerate(items) if side[at] == 1],
    )


_EXAMPLES = ("示例未全部运行", "before all examples ran")
_PARSING = ("规则文件未全部读完", "before all rule files were read")


class WorkerDied(Exception):
    """check's second process ended without its answer (killed, out of memory, a crash)."""

    def __init__(self, how: str, unfinished: tuple[str, str] = _EXAMPLES) -> None:
        zh, en = unfinished
        super().__init__(
            f"检查的第二个进程意外结束（{how}），{zh}；可用 --jobs 1 在一个进程中检查 / "
            f"check's second process ended unexpectedly ({how}) {en}; --jobs 1 checks in "
            "one process"
        )


_UNASKED = object()  # what the examples' child returns when the check had nothing for it


@dataclass
class Worker:
    """A forked child of check, the pipe that sends it work and the one it answers through."""

    pid: int
    request: int  # the write end of the pipe the work goes through
    answer_end: int  # the read end of the pipe the answer comes back through
    reaped: bool = False

    @classmethod
    def start(cls, task: Callable[[Callable[[], bytes]], object], point: str) -> Worker:
        """Fork a child that runs `task` and sends back what it returns or raises.

        `task` is given what reads the work `ask` sends (once all of it is sent; empty
        if none). `point` names the child's first instant for the fault tests
        (engine/signals.py).
        """
        work_read, work_write = os.pipe()
        answer_read, answer_write = os.pipe()
        _widen(work_write)
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(work_write)
            os.close(answer_read)
            _child(lambda: task(lambda: _read_all(work_read)), point, answer_write)
        os.close(work_read)
        os.close(answer_write)
        return cls(pid, work_write, answer_read)

    def ask(self, pack: ir.CheckedPack, models: list[ir.Model]) -> None:
        """Send the examples' child `models` to run, with the part of `pack` they read."""
        own = replace(pack, models={model.id: model for model in models}, index=None)
        data = pickle.dumps((own, models), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            _write_all(self.request, data)
        except BrokenPipeError:  # it died before it read its work
            self.answer()  # raises WorkerDied
        finally:
            os.close(self.request)
            self.request = -1

    def answer(self, unfinished: tuple[str, str] = _EXAMPLES) -> Any:
        """What the child's task returned, once it is all sent; what it raised is raised here."""
        data = _read_all(self.answer_end)
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        try:
            kind, payload = pickle.loads(data)
        except Exception:  # nothing, or half an answer: it died writing
            raise WorkerDied(_ended(status), unfinished) from None
        if kind == "raised":
            raise payload
        return payload

    def stop(self) -> None:
        """Kill the child if it still runs (unasked, or the parent failed or was interrupted)."""
        for end in (self.request, self.answer_end):
            if end >= 0:
                os.close(end)
        self.request = self.answer_end = -1
        if not self.reaped:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.reaped = True


def _run_sent_examples(work: Callable[[], bytes]) -> object:
    """The examples' child's task: import what they need, then run those the parent sends."""
    from engine.policy.examples import run_examples, warm_up

    warm_up()
    request = work()
    if not request:
        return _UNASKED
    signals.point("check.worker")
    pack, models = pickle.loads(request)
    return run_examples(pack, models)


def _widen(end: int) -> None:
    """Let the pipe hold a whole request (Linux): the parent never waits on the child's imports."""
    try:
        import fcntl

        fcntl.fcntl(end, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):  # elsewhere, or over the system's limit
        pass


def _write_all(end: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(end, view) :]


def _read_all(end: int) -> bytes:
    chunks = []
    while chunk := os.read(end, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _ended(status: int) -> str:
    """How a child without an answer ended, for people."""
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return f"被信号 {name} 终止 / killed by {name}"
    return f"退出码 {os.waitstatus_to_exitcode(status)} / exit status {os.WEXITSTATUS(status)}"


def _child(task: Callable[[], object], point: str, answer_end: int) -> None:
    """Run `task`, write what it returned or raised to `answer_end`; exit at once.

    A task that had nothing to do (`_UNASKED`) ends quietly. Ctrl-C and SIGTERM
    end the child the operating system's way: the parent says what happened.
    `os._exit`: neither the parent's buffered output nor its exit handlers run a
    second time here.
    """
    code = 0
    try:
        signal.set_wakeup_fd(-1)  # the parent's signal watcher is the parent's
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_DFL)
        signals.point(point)
        try:
            answer: tuple[str, object] = ("returned", task())
        except Exception as exc:  # raised in the parent, as one process would raise it
            answer = ("raised", exc)
        if answer[1] is _UNASKED:
            return
        try:
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # what does not pickle is sent as words
            kind, what = answer
            said = f"{type(what).__name__}: {what}" if kind == "raised" else str(exc)
            data = pickle.dumps(("raised", RuntimeError(said)))
        _write_all(answer_end, data)
    except BaseException:
        code = 1
    finally:
        os._exit(code)
