"""compiled/ written: each model's reviewable file per dialect, and what check compares.

engine/compiler/reviewed.py reads compiled/ and says whether it is current; this
module compiles the pack to the files `oversight compile --all` writes, with the
header that says what made each one, and works out what they should hold for
`oversight check` (compiling only the models the fingerprint cannot vouch for).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from sqlglot import exp

from dsl import ir
from dsl.diagnostics import DiagnosticError
from engine.compiler import placeholders, reviewed
from engine.compiler.compile import DIALECTS, CompiledModel, Target, compile_model, render
from engine.index.score import ScoreTables, compile_score
from engine.runs import ledger
from engine.runs.atomic import replace_file
from engine.runs.logs import Progress


def compile_models(
    pack: ir.CheckedPack, models: Iterable[ir.Model], target: Target
) -> list[CompiledModel]:
    """Each model's query for `target`, rendered; DiagnosticError with every model's problems."""
    compiled, problems = [], []
    for model in models:
        try:
            compiled.append(compile_model(model, pack, target))
            compiled[-1].sql()  # render now, so that unsupported constructs surface here
        except DiagnosticError as err:
            problems.extend(err.diagnostics)
    if problems:
        raise DiagnosticError(problems)
    return compiled


def _placeholder_text(compiled: CompiledModel, name: str) -> str:
    """A placeholder as the file writes it: `$as_of`, `:as_of`, `$2 ($shared_account_min)`."""
    if compiled.dialect == "postgres":
        number = compiled.placeholders.index(name) + 1
        return f"${number}" if name == placeholders.AS_OF else f"${number} (${name})"
    node = next(p for p in compiled.tree.find_all(exp.Placeholder) if p.name == name)
    return render(node, compiled.dialect)


def _placeholder_lines(compiled: CompiledModel, sql: str) -> list[str]:
    """What the header says of the placeholders: the day's, the parameters', and the order bound.

    A model compiled for a day (`compile --as-of`) has every value written in.
    """
    bound = compiled.bound(sql)
    shown = {name: _placeholder_text(compiled, name) for name in bound}
    said = []
    if placeholders.AS_OF in shown:
        said.append(f"{shown[placeholders.AS_OF]} is the day a run is evaluated for")
    params = [text for name, text in shown.items() if name != placeholders.AS_OF]
    if params:
        said.append(
            f"{', '.join(params)} {'is' if len(params) == 1 else 'are'} bound to the "
            "deployment's value, else the pack's default"
        )
    written = sorted(compiled.written)
    if written:
        said.append(f"{', '.join(f'${n}' for n in written)} written in as compiled")
    lines = [f"-- {'; '.join(said)}"] if said else []
    if not bound:
        return lines
    return lines + reviewed.header_lines(bound, written)


def sql_file(compiled: CompiledModel, pack: ir.CheckedPack) -> str:
    """A compiled model as a reviewable file: a header that says what made it, then the SQL."""
    model = compiled.model
    sql = compiled.sql(pretty=True)
    header = reviewed.header(
        f"{model.id} {model.title}",
        compiled.dialect,
        reviewed.made_from(pack, model.file),
        model.revision,
        pack,
        _placeholder_lines(compiled, sql),
    )
    return header + sql + ";\n"


def index_sql_file(pack: ir.CheckedPack, dialect: str) -> str:
    """The index's query as a reviewable file, with the period as placeholders."""
    index = pack.index
    assert index is not None
    tables = ScoreTables(ledger.LEDGER, "sup_disposal", "town_staffing")
    query = compile_score(pack, Target(dialect), None, tables)
    header = reviewed.header(
        f"{index.name} {index.title}",
        dialect,
        reviewed.made_from(pack, index.file),
        index.revision,
        pack,
        [
            "-- :period_start, :period_end and :staffing_year are the period's; "
            "parameters are the pack's defaults"
        ],
    )
    return header + render(query, dialect, pretty=True) + ";\n"


def _reviewed_target(dialect: str) -> Target:
    """What compiled/ is compiled for: any day, any deployment's scalar parameters, bound."""
    return Target(dialect, bind_parameters=True)


def _every_model(pack: ir.CheckedPack) -> list[ir.Model]:
    """All models, drafts and deprecated ones too (compiled/ holds them all), by id."""
    return [pack.models[model_id] for model_id in sorted(pack.models)]


def compiled_files(
    pack: ir.CheckedPack, dialects: Iterable[str] = DIALECTS, progress: Progress | None = None
) -> dict[str, str]:
    """Every file of compiled/: DIALECT/MODEL.sql for each model, and DIALECT/index.sql."""
    files: dict[str, str] = {}
    dialects = list(dialects)
    for done, dialect in enumerate(dialects, 1):
        for compiled in compile_models(pack, _every_model(pack), _reviewed_target(dialect)):
            files[f"{dialect}/{compiled.model.id}.sql"] = sql_file(compiled, pack)
        if pack.index is not None:
            files[f"{dialect}/index.sql"] = index_sql_file(pack, dialect)
        if progress is not None:
            progress("compiled", done, len(dialects))
    files[reviewed.FINGERPRINT] = reviewed.fingerprint(pack, files)
    return files


def write_compiled(pack: ir.CheckedPack, out: Path) -> int:
    """Write every compiled file under `out`, removing .sql files that no longer belong."""
    files = compiled_files(pack)
    for existing in out.glob("*/*.sql"):
        if existing.relative_to(out).as_posix() not in files:
            existing.unlink()
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, lambda handle, text=text: handle.write(text.encode("utf-8")))
    return len(files)


def stale_compiled(
    pack: ir.CheckedPack,
    out: Path,
    progress: Progress | None = None,
    known: dict[str, str] | None = None,
    compiled_now: Callable[[str, dict[str, str]], None] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> list[str]:
    """The files of compiled/ that differ from what the pack compiles to now (or are extra).

    `known` (compiled/ file → `reviewed.file_digest` of its text) are files whose
    models are not compiled again (check's cache, the fingerprint: their inputs are
    unchanged); the files on disk are read and compared all the same. Without it
    every model is compiled. `compiled_now` hears, per model id (or "index"), the
    digests of what was compiled; `inputs` are `reviewed.owner_inputs(pack)`.
    """
    digests = compiled_digests(pack, progress, known or {}, compiled_now, inputs)
    return reviewed.stale_files(out, digests)


def compiled_digests(
    pack: ir.CheckedPack,
    progress: Progress | None = None,
    known: dict[str, str] | None = None,
    compiled_now: Callable[[str, dict[str, str]], None] | None = None,
    inputs: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What `compiled_files` would write, as each file's `reviewed.file_digest`.

    A model (or the index) whose every file is in `known` takes its digests from
    there instead of being compiled again.
    """
    known = known or {}
    files = reviewed.owners(pack)
    todo = [owner for owner, file in files.items() if not reviewed.everywhere(known, file)]
    models = [pack.models[owner] for owner in todo if owner != reviewed.INDEX]
    digests: dict[str, str] = {}
    fresh: dict[str, dict[str, str]] = {}
    for done, dialect in enumerate(DIALECTS, 1):
        names = {owner: f"{dialect}/{file}" for owner, file in files.items()}
        digests.update((names[owner], known[names[owner]]) for owner in names if owner not in todo)
        for compiled in compile_models(pack, models, _reviewed_target(dialect)) if models else []:
            name = names[compiled.model.id]
            digests[name] = reviewed.file_digest(sql_file(compiled, pack))
            fresh.setdefault(compiled.model.id, {})[name] = digests[name]
        if reviewed.INDEX in todo:
            name = names[reviewed.INDEX]
            digests[name] = reviewed.file_digest(index_sql_file(pack, dialect))
            fresh.setdefault(reviewed.INDEX, {})[name] = digests[name]
        if progress is not None:
            progress("compiled", done, len(DIALECTS))
    if compiled_now is not None:
        for owner, written in fresh.items():
            compiled_now(owner, written)
    fingerprint = reviewed.fingerprint_of(pack, digests, inputs)
    digests[reviewed.FINGERPRINT] = reviewed.file_digest(fingerprint)
    return digests
