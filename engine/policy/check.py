"""`oversight check`: the pack type-checked, its inline examples run, compiled/ current.

The edit loop's command, so it imports only what the check at hand needs: the
language always; DuckDB, pyarrow and the compiler only when a model's examples
must run or its SQL must be compiled again (engine/policy/check_cache.py and
compiled/fingerprint.json say which); git only with `against`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import Diagnostic, Severity
from dsl.messages import diagnostic
from engine import __version__
from engine.compiler import reviewed
from engine.compiler.dialects import DIALECTS
from engine.defaults import default_policies
from engine.policy.check_cache import INDEX, CheckCache
from engine.policy.outcome import ExampleOutcome
from engine.runs.logs import Progress, no_progress

if TYPE_CHECKING:
    from engine.policy.workers import Worker


@dataclass
class CheckReport:
    """Everything `oversight check` found.

    `from_cache`: the models (ids) for which nothing was run or compiled, what an
    earlier check found of them being still true (engine/policy/check_cache.py).
    """

    diagnostics: list[Diagnostic]
    sources: dict[str, str]
    pack: ir.CheckedPack | None
    examples: list[ExampleOutcome] = field(default_factory=list)
    from_cache: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.pack is not None and not any(
            d.severity is not Severity.WARNING for d in self.diagnostics
        )


def check(
    policies: str | Path | None = None,
    examples: bool = True,
    against: str | None = None,
    progress: Progress | None = None,
    cache: bool = False,
    jobs: int | None = None,
    worker: Worker | None = None,
) -> CheckReport:
    """Check the pack: types, every inline example, compiled/ current.

    With `against` (a git revision), rules changed since then must come with a
    higher pack version and a CHANGELOG entry. `progress` hears each step
    (check, examples per model, against, compiled per dialect): it takes
    seconds, and a person at a terminal should see it move.

    With `cache` (what `oversight check` does unless --no-cache), the pack's
    `.oversight/` keeps what this check found: the next one parses only the files
    that changed and runs the examples and compiles only the models whose file, or
    a shared item they reach, pack.yaml or the engine changed. Every file is still
    checked, and every file of compiled/ still read and compared. Off by default: a
    library caller (a test that patches the engine) gets the whole check.

    `jobs`: how many processes run the examples, two at most (engine/policy/workers.py);
    by default two while a second core is free, the second one started at once.
    `worker`: that second process, where the caller forked it already (`oversight
    check` does, before it imports this module); check ends it either way.

    Either way a model whose inputs are those compiled/fingerprint.json records is
    not compiled again: its files must hold what the fingerprint says they were
    written with (engine/compiler/reviewed.py).
    """
    progress = progress or no_progress
    root = Path(policies or default_policies())
    from engine.policy import workers  # the standard library's fork and pipes

    # Judged once, before this check's own second process makes a core look busy.
    jobs = workers.default_jobs() if jobs is None else jobs
    if worker is None and examples:
        worker = workers.second_process(jobs)
    try:
        kept = CheckCache.of(root) if cache else CheckCache.off()
        progress("check", 0, 1)
        result = check_pack(
            root, __version__, parsed_before=kept.parsed, parse=workers.parse_files(jobs)
        )
        progress("check", 1, 1)
        report = CheckReport(list(result.diagnostics), result.sources, result.pack)
        pack = result.pack
        if pack is None:
            kept.save()
            return report
        kept.know(pack, result.sources)
        untouched = {m.id for m in pack.models.values() if kept.examples_passed(m)}

        def compare() -> Compared:
            return _compare(root, pack, kept, result.sources, against, progress)

        if examples:
            compared = _run_examples(pack, kept, untouched, report, progress, worker, compare)
        else:
            compared = compare()
    finally:
        if worker is not None:
            worker.stop()
    report.diagnostics.extend(compared.diagnostics)
    if cache:
        report.from_cache = sorted(
            m
            for m in pack.models
            if (m in untouched or not examples)
            and (m in compared.compiled_before or not compared.compiled)
        )
    kept.save()
    return report


@dataclass
class Compared:
    """What `--against` and compiled/ found, and which models' files the cache vouched for."""

    diagnostics: list[Diagnostic]
    compiled: bool  # the pack has a compiled/ folder
    compiled_before: set[str]


def _compare(
    root: Path,
    pack: ir.CheckedPack,
    kept: CheckCache,
    sources: dict[str, str],
    against: str | None,
    progress: Progress,
) -> Compared:
    """The version bump and CHANGELOG entry `against` asks for, and compiled/ current."""
    found: list[Diagnostic] = []
    if against:
        from engine.policy.lifecycle import check_against  # git and the warehouses: only here

        progress("against", 0, 1)
        found += check_against(against, pack)
        progress("against", 1, 1)
    out = reviewed.compiled_folder(root)
    if not out.is_dir():
        return Compared(found, False, set())
    known = kept.compiled([*pack.models, INDEX])
    compiled_before = {m for m in pack.models if reviewed.everywhere(known, f"{m}.sql")}
    stale = _stale(pack, out, known, kept, sources, progress)
    if stale:
        shown = "、".join(stale[:5]) + (f" 等 {len(stale)} 个" if len(stale) > 5 else "")
        found.append(
            diagnostic(
                "E710",
                None,
                hints=("运行 oversight compile --all 重新生成 / run: oversight compile --all",),
                shown=shown,
                stale_count=len(stale),
            )
        )
    return Compared(found, True, compiled_before)


def _run_examples(
    pack: ir.CheckedPack,
    kept: CheckCache,
    untouched: set[str],
    report: CheckReport,
    progress: Progress,
    worker: Worker | None,
    meanwhile: Callable[[], Compared],
) -> Compared:
    """Run the examples of every model the cache cannot vouch for; the others count as passed.

    `meanwhile` runs while the second process runs its examples (its answer is
    returned): comparing compiled/ then costs an edit loop's check nothing.
    """
    models = sorted(pack.models.values(), key=lambda m: m.id)
    changed = [m for m in models if m.id not in untouched]
    done_before = len(models) - len(changed)  # the cache's models count as done
    progress("examples", done_before, len(models))
    collect: Callable[[], list[ExampleOutcome]] = list
    if changed:
        from engine.policy.workers import share_examples

        collect = share_examples(
            pack,
            changed,
            worker,
            progress=lambda done, _: progress("examples", done_before + done, len(models)),
        )
    compared = meanwhile()
    ran = collect()
    for model in models:
        if model.id in untouched:
            report.examples += [ExampleOutcome(model.id, e.title, True) for e in model.examples]
        else:
            outcomes = [o for o in ran if o.model_id == model.id]
            kept.passed(model, all(o.passed for o in outcomes))
            report.examples += outcomes
    for outcome in report.examples:
        report.diagnostics.extend(outcome.problems)
    return compared


def _stale(
    pack: ir.CheckedPack,
    out: Path,
    known: dict[str, str],
    kept: CheckCache,
    texts: dict[str, str],
    progress: Progress,
) -> list[str]:
    """The files of compiled/ that are not what the pack compiles to now, or are extra.

    What each file should hold comes from the cache (`known`), else from the
    fingerprint for a model whose inputs it records unchanged, else from compiling
    the model now, unless its files' headers show them stale already
    (`reviewed.remade`). The files on disk are read and compared in every case.
    """
    inputs = reviewed.owner_inputs(pack, texts)
    owners = reviewed.owners(pack)
    recorded = reviewed.recorded(out, inputs, owners)
    for owner, file in owners.items():
        if not reviewed.everywhere(known, file) and reviewed.everywhere(recorded, file):
            mine = {name: recorded[name] for name in recorded if name.endswith(f"/{file}")}
            kept.compiled_now(owner, mine)  # what it compiles to, for the next check too
    known = {**recorded, **known}
    # A model neither vouches for whose files' headers name another rule file (an edit
    # since `oversight compile --all`) is stale in every dialect: not compiled to say so.
    # The fingerprint is then stale too: it records other inputs for that model.
    remade = [
        owner
        for owner, file in owners.items()
        if not reviewed.everywhere(known, file) and reviewed.remade(out, pack, owner)
    ]
    for owner in remade:
        known.update((f"{dialect}/{owners[owner]}", reviewed.STALE) for dialect in DIALECTS)
    if all(reviewed.everywhere(known, file) for file in owners.values()):
        digests = {name: known[name] for name in _names(owners)}
        for done in range(1, len(DIALECTS) + 1):
            progress("compiled", done, len(DIALECTS))
        if remade:
            digests[reviewed.FINGERPRINT] = reviewed.STALE
        else:
            fingerprint = reviewed.fingerprint_of(pack, digests, inputs)
            digests[reviewed.FINGERPRINT] = reviewed.file_digest(fingerprint)
        return reviewed.stale_files(out, digests)
    from engine.compiler.files import stale_compiled  # sqlglot: only when there is SQL to write

    return stale_compiled(pack, out, progress, known, kept.compiled_now, inputs)


def _names(owners: dict[str, str]) -> list[str]:
    """Every compiled/ file the owners have: DIALECT/FILE for each dialect."""
    return [f"{dialect}/{file}" for dialect in DIALECTS for file in owners.values()]
