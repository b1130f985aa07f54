"""The reviewed SQL of compiled/, run as it was reviewed whenever it is current.

compiled/ holds what every model compiles to on every warehouse, committed
so that reviewers see what runs. A run reads those files instead of
compiling again when nothing they were made from has changed since:
`compiled/fingerprint.json` records a digest of everything compiling reads
(the pack's rule files and pack.yaml, the compiler's own source and
oversight's version) and the digest of each file written. A
run that finds the inputs unchanged and a file as it was written binds the
as-of day and each parameter to the file's placeholders (the deployment's
value, else the pack's default: engine/compiler/placeholders.py) and runs it;
anything else (a rule edited since the last `oversight compile --all`, a file
edited by hand, a deployment that maps a table the model reads or changes a
parameter the file has written in, such as a list) is compiled as before.
Either way the warehouse gets the same query, the values bound in one and
written in the other; the tests compare their warnings.

Which placeholders a file has, in the order they are bound, and which
parameters it has written in, its header says (`header_lines`), so that a run
reads them without parsing the SQL.

Why not always compile: compiling and writing out the 35 queries is a
tenth of a second of every run, a sixth of a small county's whole run on
DuckDB.

sqlglot's version is left out on purpose: a new sqlglot may write a query
differently without changing what it means, and the files stay what was
reviewed; `oversight check` still reports them stale (E710) if the text
would differ. A new sqlglot release must not stop a county's runs from using
its reviewed SQL, nor fail a policy repository's CI by itself.

The fingerprint also records, per model (and the index), a digest of what
that model's files are made from (`owner_inputs`: its rule file, pack.yaml,
the shared items it reaches, the compiler and sqlglot's version). `oversight
check` takes a model whose digest is unchanged to compile to the files the
fingerprint lists, so it compiles only the models whose inputs changed; it
still reads every file and compares its bytes with what the fingerprint says
was written (`stale_files`), so a file edited by hand is caught all the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import dsl
from dsl import ir
from dsl.check import rule_files
from engine import __version__
from engine.compiler.dialects import DIALECTS
from engine.policy.check_cache import INDEX, Dependencies

FINGERPRINT = "fingerprint.json"

# The header lines of a compiled file that say what a run binds and what it cannot change.
BOUND = "-- bound, in this order: "
WRITTEN = "-- written in (a run with other values compiles it again): "

# How every name is quoted. Found by path, not imported: this module is read by `check`,
# which imports sqlglot only when it has a model to compile.
_NAMES = Path(__file__).resolve().parents[2] / "adapters" / "names.py"


def _compiler_sources() -> list[Path]:
    """What turns rule files into SQL text: dsl/, engine/compiler/ and the index's planner.

    A change to any of them may change the SQL, so it makes compiled/ out of date until
    `oversight compile --all` runs. This module only reads compiled/, so it is left out.
    """
    dsl_folder = Path(dsl.__file__).parent
    this = Path(__file__)
    compiler = [path for path in this.parent.glob("*.py") if path.name != this.name]
    return [
        *sorted(dsl_folder.rglob("*.py")),
        *sorted(dsl_folder.glob("*.lark")),
        *sorted(compiler),
        this.parent.parent / "index" / "score.py",
        _NAMES,
    ]


def inputs_digest(pack: ir.CheckedPack) -> str:
    """A digest of everything the compiled files of `pack` are made from."""
    root = pack.pack.root
    digest = hashlib.sha256(f"oversight {__version__}\n".encode())
    named = [(f"pack/{p.relative_to(root).as_posix()}", p) for p in rule_files(root)]
    named.append(("pack/pack.yaml", root / "pack.yaml"))
    named += [(f"compiler/{p.name}", p) for p in _compiler_sources()]
    for name, path in named:
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _file_digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def file_digest(text: str) -> str:
    """What the fingerprint records of a compiled file's text (its UTF-8 bytes' sha256)."""
    return _file_digest(text.encode())


def fingerprint(pack: ir.CheckedPack, files: dict[str, str]) -> str:
    """compiled/fingerprint.json for the compiled `files` (name → text) of `pack`."""
    return fingerprint_of(pack, {name: file_digest(text) for name, text in files.items()})


def fingerprint_of(
    pack: ir.CheckedPack, digests: dict[str, str], owners: Mapping[str, str] | None = None
) -> str:
    """compiled/fingerprint.json from each compiled file's `file_digest` (name → digest).

    `owners` are `owner_inputs(pack)` when the caller has them already.
    """
    record = {
        "about": "what the SQL files beside it were compiled from; written by oversight compile",
        "inputs": inputs_digest(pack),
        "models": dict(sorted((owner_inputs(pack) if owners is None else owners).items())),
        "files": dict(sorted(digests.items())),
    }
    return json.dumps(record, ensure_ascii=False, indent=1) + "\n"


@cache
def compiler_key() -> str:
    """A digest of what turns a checked model into its files: the compiler and sqlglot.

    Unlike `inputs_digest`, sqlglot's version is in it: `check` must compile again
    after an upgrade to see whether the text would differ (while runs go on using
    the reviewed files).
    """
    from importlib import metadata  # 10 ms to import: only where compiled/ is compared

    try:
        sqlglot = metadata.version("sqlglot")
    except metadata.PackageNotFoundError:
        sqlglot = "-"
    digest = hashlib.sha256(f"oversight {__version__}\nsqlglot {sqlglot}\n".encode())
    for path in _compiler_sources():
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def owners(pack: ir.CheckedPack) -> dict[str, str]:
    """Every model id (and "index") → the name of its file in each dialect's folder."""
    files = {model_id: f"{model_id}.sql" for model_id in sorted(pack.models)}
    if pack.index is not None:
        files[INDEX] = "index.sql"
    return files


def owner_inputs(pack: ir.CheckedPack, texts: Mapping[str, str] | None = None) -> dict[str, str]:
    """Model id (and "index") → a digest of everything its compiled files are made from.

    Its rule file (bytes and the name the headers give it), pack.yaml, the checked
    form of each shared item it reaches, and `compiler_key`. `texts` are the rule
    files as the checker read them (file → text); without them they are read now.
    """
    root = Path(pack.pack.root)
    try:
        pack_yaml = hashlib.sha256((root / "pack.yaml").read_bytes()).hexdigest()
    except OSError:
        return {}
    dependencies = Dependencies(pack, pack_yaml, root.resolve().parent, compiler_key())
    nodes: list[tuple[str, ir.Model | ir.Index]] = list(pack.models.items())
    if pack.index is not None:
        nodes.append((INDEX, pack.index))
    found = {}
    for name, node in nodes:
        try:
            text = texts[node.file] if texts and node.file in texts else None
            if text is None:
                text = Path(node.file).read_text(encoding="utf-8")
            found[name] = dependencies.of(node, text)
        except (OSError, UnicodeDecodeError):
            continue  # its file is gone: it is compiled, and its files compared, again
    return found


def recorded(folder: Path, inputs: Mapping[str, str], files: Mapping[str, str]) -> dict[str, str]:
    """What compiled/fingerprint.json says the files of the unchanged models were, when written.

    `inputs` are `owner_inputs` now and `files` each owner's file name (`owners`). Only
    an owner recorded with the same digest and a digest for its file in every dialect is
    taken; a missing or garbled fingerprint takes none. These are what the files held
    when `oversight compile` wrote them, not what is on disk now: `stale_files` compares.
    """
    try:
        record = json.loads((folder / FINGERPRINT).read_text(encoding="utf-8"))
        before: dict[str, str] = record["models"]
        written: dict[str, str] = record["files"]
        if not isinstance(before, dict) or not isinstance(written, dict):
            return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    known = {}
    for owner, digest in inputs.items():
        if before.get(owner) != digest or owner not in files:
            continue
        names = [f"{dialect}/{files[owner]}" for dialect in DIALECTS]
        if all(isinstance(written.get(name), str) for name in names):
            known.update((name, written[name]) for name in names)
    return known


def stale_files(folder: Path, digests: Mapping[str, str]) -> list[str]:
    """The files of `folder` whose text is not what `digests` (name → `file_digest`) says.

    Those missing or unreadable too, then the .sql files no one expects, sorted.
    """
    stale = []
    for name, digest in sorted(digests.items()):
        try:
            text = (folder / name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            stale.append(name)
            continue
        if file_digest(text) != digest:
            stale.append(name)
    extra = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.glob("*/*.sql")
        if p.relative_to(folder).as_posix() not in digests
    )
    return stale + extra


def everywhere(known: Container[str], file: str) -> bool:
    """Whether `known` (compiled/ file names) holds `file` (MODEL.sql) for every dialect."""
    return all(f"{dialect}/{file}" in known for dialect in DIALECTS)


def made_from(pack: ir.CheckedPack, file: str) -> tuple[str, str]:
    """A rule file as a compiled file's header names it, and the start of its sha256.

    Named from the pack's parent folder (engine/compiler/files.py writes the headers).
    """
    path = Path(file)
    try:
        shown = path.resolve().relative_to(pack.pack.root.resolve().parent).as_posix()
    except ValueError:
        shown = path.as_posix()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        digest = "unknown"
    return shown, digest


def header(
    title: str,
    dialect: str,
    source: tuple[str, str],
    revision: str,
    pack: ir.CheckedPack,
    placeholder_lines: list[str],
) -> str:
    """The header of a compiled file: what it is, what made it, do not edit, its placeholders."""
    shown, digest = source
    return (
        "\n".join(
            [
                f"-- {title} | dialect: {dialect}",
                f"-- generated by oversight {__version__} from {shown} (sha256 {digest}), "
                f"revision {revision}, pack {pack.pack.version}",
                "-- do not edit: change the rule file and run `oversight compile --all`",
                *placeholder_lines,
            ]
        )
        + "\n"
    )


STALE = "stale: its header names another making"
"""What `remade` files are taken to hold instead of a digest: no file's digest is it."""


def remade(folder: Path, pack: ir.CheckedPack, owner: str) -> bool:
    """Whether each file of `owner` (a model id, or the index) differs from what it compiles to.

    Told by the first two lines of each file's header alone, which say what the file
    is and what made it: the rule file's name and sha256, its revision, the pack's
    version, oversight's. A model whose rule file was edited since `oversight compile
    --all` has a new sha256 there, so every one of its files is stale, whatever its SQL
    would be: `oversight check` need not compile it (twelve dialects, most of an edited
    model's check) to say so. A missing or unreadable file is stale too.
    """
    node = pack.index if owner == INDEX else pack.models.get(owner)
    if node is None:
        return False
    if isinstance(node, ir.Index):
        title, file = f"{node.name} {node.title}", "index.sql"
    else:
        title, file = f"{node.id} {node.title}", f"{node.id}.sql"
    source = made_from(pack, node.file)
    for dialect in DIALECTS:
        wanted = header(title, dialect, source, node.revision, pack, []).splitlines()[:2]
        try:
            with (folder / dialect / file).open(encoding="utf-8") as handle:
                first = [handle.readline().rstrip("\n") for _ in range(2)]
        except (OSError, UnicodeDecodeError):
            continue  # missing or unreadable: stale
        if first == wanted:
            return False
    return True


def compiled_folder(policies: str | Path) -> Path:
    """Where a pack's compiled SQL lives: `compiled/` beside its policies folder."""
    return Path(policies).resolve().parent / "compiled"


@dataclass(frozen=True)
class Reviewed:
    """A reviewed file's statement, its placeholders in binding order, what it has written in."""

    sql: str
    bound: tuple[str, ...] = ("as_of",)
    written: frozenset[str] = frozenset()

    def runs_with(self, parameters: Mapping[str, Any]) -> bool:
        """Whether it runs with these overrides: none of them is a value it has written in."""
        return self.written.isdisjoint(parameters)

    def values(
        self, pack: ir.CheckedPack, as_of: date, parameters: Mapping[str, Any]
    ) -> dict[str, Any]:
        """What to bind, in order: the day, and each parameter's override, else its default."""
        declared = pack.pack.parameters
        return {
            name: as_of
            if name == "as_of"
            else parameters[name]
            if name in parameters
            else declared[name].default
            for name in self.bound
        }


def header_lines(bound: Iterable[str], written: Iterable[str]) -> list[str]:
    """The lines of a compiled file's header that `reviewed_queries` reads back."""
    lines = [BOUND + ", ".join(bound)]
    if written:
        lines.append(WRITTEN + ", ".join(sorted(written)))
    return lines


def _read_header(text: str) -> Reviewed:
    """The statement of a compiled file, and what its header says is bound and written in."""
    bound: tuple[str, ...] = ("as_of",)  # a file without the line binds the day alone
    written: frozenset[str] = frozenset()
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        if line.startswith(BOUND):
            bound = tuple(n for n in line.removeprefix(BOUND).split(", ") if n)
        elif line.startswith(WRITTEN):
            written = frozenset(line.removeprefix(WRITTEN).split(", "))
    # The statement without its closing semicolon, which not every driver takes.
    return Reviewed(text.rstrip().removesuffix(";"), bound, written)


def reviewed_queries(pack: ir.CheckedPack, dialect: str) -> dict[str, Reviewed]:
    """Model id → the statement of compiled/DIALECT/ID.sql, for every file that is current.

    Empty when compiled/ is missing, out of date, or unreadable: the caller compiles.
    """
    compiled = compiled_folder(pack.pack.root)
    try:
        record = json.loads((compiled / FINGERPRINT).read_text(encoding="utf-8"))
        if record.get("inputs") != inputs_digest(pack):
            return {}
        expected: dict[str, str] = record["files"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    queries = {}
    for model_id in pack.models:
        name = f"{dialect}/{model_id}.sql"
        try:
            text = (compiled / name).read_bytes()
        except OSError:
            continue
        if expected.get(name) == _file_digest(text):
            queries[model_id] = _read_header(text.decode("utf-8"))
    return queries
