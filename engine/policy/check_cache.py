"""What `oversight check` found last time, kept so that an edit re-checks only what it touched.

The cache lives in the pack's own `.oversight/` folder (which ignores itself in
git). It holds these, each under a digest of everything it was made from:

- `parsed/DIGEST.pickle`: a rule file's syntax tree, under a digest of the file's
  bytes, the name diagnostics show for it and the engine (`engine_key`), and beside
  it `DIGEST.outline.pickle`, the same with each model cut to its id and places
  (`ParsedFiles.whole` reads the whole model where one is checked again). Only a
  file that parsed without a diagnostic is kept; one with a problem is parsed
  again every time.
- `models/DIGEST.pickle`: what checking a model found (its checked form and its
  warnings), under a digest of its file's text, the name shown for it, pack.yaml,
  the engine and the names of every shared item, with the digest of the checked
  form of each shared item it reaches (`ParsedFiles.model`). A model for which both
  are unchanged is not checked again; the shared items, the index and the pack-wide
  checks (ids apart, duplicates) always run. Written only by a check that found no
  error.
- `check.json`: per model (and the index), the digest of what its outcome
  depends on (`Dependencies.of`: its file, pack.yaml, each shared definition,
  relation and lookup it reaches, the engine) with the titles of its examples
  when all of them passed, and the sha256 of each compiled/ file it compiles to.
  A model whose digest is unchanged does not run its examples nor compile again;
  the compiled/ files on disk are still read and compared on every check.
- `engine.json`: the engine key with the `engine_stamp` (files' sizes and times)
  it was worked out at, so that a fresh process need not hash the engine's source.

Nothing read from here is trusted unless its digest matches: an unreadable,
corrupt or foreign file is a miss, never an error and never a pass. Every file
is replaced in one step (a temporary file renamed over it), so a check that
crashes or runs beside another leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

import dsl
from dsl import ast, ir, types
from dsl import pack as pack_module
from dsl.check.shared import SharedDefinitions
from dsl.diagnostics import Diagnostic, Severity, Span
from dsl.node import Node, dump, walk
from dsl.pack import Pack
from engine import __version__
from engine.runs.atomic import replace_file

FOLDER = ".oversight"
RESULTS = "check.json"
PARSED = "parsed"
MODELS = "models"
FORMAT = 1
"""Bumped when what the cache holds changes shape: a file of another format is ignored."""

IGNORE_ALL = "# written by oversight check: a cache, never committed\n*\n"

# Installed packages whose version can change what a check finds: the parser, the SQL
# writer, the warehouse the examples run on and the tables they are given.
_LIBRARIES = ("lark", "sqlglot", "duckdb", "pyarrow", "ruamel.yaml")


ENGINE = "engine.json"
KNOWN_ENGINE_KEYS: dict[str, str] = {}
"""Engine keys a pack's cache recorded (`CheckCache`), by the `engine_stamp` they were found at."""
_STAMPS: dict[str, str] = {}
"""The stamp each key of this process was found at, taken before it (a file saved meanwhile
gives a stamp that no later check sees)."""


@cache
def engine_key() -> str:
    """A digest of the engine that checks: its version, its source and the libraries' versions.

    The source is hashed too, not only `__version__`: an engine changed in place (a
    developer's checkout, a patched install) must not be served what its earlier
    self found. Reading and hashing every source file and asking for each library's
    version takes a fresh check 10 ms: a key recorded at the same `engine_stamp` is
    taken instead.
    """
    stamp = engine_stamp()
    key = KNOWN_ENGINE_KEYS.get(stamp) or engine_key_of_files()
    _STAMPS[key] = stamp
    return key


def engine_key_of_files() -> str:
    """`engine_key` worked out from the files and the installed libraries."""
    from importlib import metadata  # what finds the versions: 10 ms to import

    digest = hashlib.sha256(f"oversight-check-cache {FORMAT} {__version__}\n".encode())
    digest.update(f"python {sys.version}\n".encode())
    for name in _LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name} {version}\n".encode())
    code = Path(dsl.__file__).resolve().parent.parent
    for folder in ("dsl", "engine", "adapters"):
        for path in sorted((code / folder).rglob("*")):
            if path.suffix in (".py", ".lark", ".toml") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(code).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def engine_stamp() -> str:
    """What would tell that `engine_key` changed, from the files' sizes and times alone.

    The engine's version, Python's, the import path and the time each of its folders
    last changed (installing or removing a library adds or removes its folder of
    metadata there, so a library's new version changes it), and the path, size and
    modification time of every source file `engine_key` hashes: what Python itself
    trusts to tell that a module's bytecode is current, to the nanosecond here.
    """
    said = [f"{FORMAT} {__version__}", sys.version, *sys.path]
    for entry in sys.path:
        try:
            said.append(str(os.stat(entry or ".").st_mtime_ns))
        except OSError:
            said.append("-")
    code = Path(dsl.__file__).resolve().parent.parent
    for folder in ("dsl", "engine", "adapters"):
        for top, subfolders, files in os.walk(code / folder):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".lark", ".toml")):
                    path = os.path.join(top, name)
                    try:
                        found = os.stat(path)
                    except OSError:
                        continue
                    said.append(f"{path}\0{found.st_size}\0{found.st_mtime_ns}")
    return _sha("\n".join(said).encode("utf-8", "surrogatepass"))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class TreesOnly(pickle.Unpickler):
    """Unpickles syntax and checked trees, packs and diagnostics: a cache file can name no other.

    (https://docs.python.org/3/library/pickle.html#restricting-globals) The folder is
    the pack's, but whatever is written there must not be able to run code.
    """

    _PLAIN = frozenset(
        {
            ("datetime", "date"),
            ("datetime", "datetime"),
            ("decimal", "Decimal"),
            ("pathlib", "PosixPath"),
            ("pathlib", "WindowsPath"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._PLAIN:
            return super().find_class(module, name)
        if module == "dsl.diagnostics" and name in ("Span", "Diagnostic", "Severity"):
            return {"Span": Span, "Diagnostic": Diagnostic, "Severity": Severity}[name]
        kinds = {"dsl.ast": ast, "dsl.ir": ir, "dsl.pack": pack_module, "dsl.types": types}.get(
            module
        )
        found = getattr(kinds, name, None) if kinds is not None else None
        if isinstance(found, type) and (is_dataclass(found) or issubclass(found, Enum)):
            return found
        raise pickle.UnpicklingError(f"not a syntax tree: {module}.{name}")


class ParsedFiles:
    """The syntax trees of rule files parsed before, for `dsl.check.check_pack` to reuse."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.used: set[str] = set()
        # Each rule file as it was parsed: shown name → (sha256 of its text, with examples).
        self.texts: dict[str, tuple[str, bool]] = {}
        self.pack_yaml: str | None = None  # the sha256 of the pack.yaml the pack was read from
        # The digest of each shared item's checked form, (kind, name) → digest; `know` uses
        # the same (the checked forms are the same objects).
        self.items: dict[tuple[str, str], str] = {}
        self._names: tuple[int, str] | None = None  # (id of the shared definitions, digest)
        # What this check found or reused, by key; True where models/ does not hold it yet.
        self.models: dict[str, tuple[_Kept, bool]] = {}
        # The models `get` gave as outlines (no clauses), by id(): the outline, its tree's file.
        self._outlines: dict[int, tuple[ast.Model, Path, str, bool]] = {}

    def key(self, shown: str, text: str, examples: bool) -> str:
        """The name of the file that keeps this text's tree: a digest of all it depends on."""
        said = f"{engine_key()}\0{shown}\0{examples}\0".encode()
        return _sha(said + text.encode("utf-8", "surrogatepass"))

    def get(self, shown: str, text: str, examples: bool) -> ast.RuleFile | None:
        """The tree of this text parsed as `shown`, if a check parsed it before; else None."""
        if self.folder is None:
            return None
        key = self.key(shown, text, examples)
        outline = _unpickled(self.folder / f"{key}{OUTLINE}.pickle")
        if isinstance(outline, ast.RuleFile) and outline.text == text and outline.path == shown:
            tree = outline
            for item in outline.items:
                if isinstance(item, ast.Model) and not item.clauses:
                    self._outlines[id(item)] = (item, self.folder / f"{key}.pickle", text, examples)
        else:
            tree = _unpickled(self.folder / f"{key}.pickle")
            if not isinstance(tree, ast.RuleFile) or tree.text != text or tree.path != shown:
                return None
            _keep_outline(self.folder / f"{key}{OUTLINE}.pickle", tree)
        self.used.update((key, f"{key}{OUTLINE}"))
        self.texts[shown] = (_sha(text.encode("utf-8", "surrogatepass")), examples)
        return tree

    def whole(self, node: ast.Model) -> ast.Model:
        """The model `node` is the outline of, as parsed (`node` itself when it is no outline).

        `get` gives each model of an unchanged file as an outline (its id and places, no
        clauses): a model whose check is reused needs no more, and reading every model's
        tree is a tenth of a check. The checker asks for the whole before checking one.
        """
        known = self._outlines.get(id(node))
        if known is None or known[0] is not node:
            return node
        tree = _unpickled(known[1])
        for item in tree.items if isinstance(tree, ast.RuleFile) else ():
            if isinstance(item, ast.Model) and item.id == node.id and item.span == node.span:
                return item
        from dsl.parser import parse_file  # the tree's file is gone: parse the text again

        for item in parse_file(node.span.file, known[2], known[3]).items:
            if isinstance(item, ast.Model) and item.id == node.id and item.span == node.span:
                return item
        raise LookupError(f"model {node.id} is not in {node.span.file} any more")

    def put(self, shown: str, text: str, examples: bool, tree: ast.RuleFile) -> None:
        """Keep a tree that parsed without a diagnostic (the caller never hands another)."""
        if self.folder is None:
            return
        key = self.key(shown, text, examples)
        self.used.update((key, f"{key}{OUTLINE}"))
        self.texts[shown] = (_sha(text.encode("utf-8", "surrogatepass")), examples)
        _keep(self.folder / f"{key}.pickle", tree)
        _keep_outline(self.folder / f"{key}{OUTLINE}.pickle", tree)

    def pack(self, root: Path, engine_version: str | None, load: Callable[[], Pack]) -> Pack:
        """pack.yaml read before, if its bytes are those read then; else `load()`, kept.

        Reading pack.yaml is a quarter of checking an unchanged pack (ruamel.yaml keeps
        every line and column, for diagnostics). Only a pack.yaml that loaded without a
        problem is kept; one that does not is loaded, and its problems said, every time.
        """
        if self.folder is None:
            return load()
        try:
            before = (root / "pack.yaml").read_bytes()
        except OSError:
            return load()
        key = _sha(f"{engine_key()}\0pack.yaml\0{root}\0{engine_version}\0".encode() + before)
        path = self.folder / f"{key}.pickle"
        pack = _unpickled(path)
        if isinstance(pack, Pack) and pack.root == root:
            self.used.add(key)
            self.pack_yaml = _sha(before)
            return pack
        pack = load()
        try:
            unchanged = (root / "pack.yaml").read_bytes() == before  # not saved again meanwhile
        except OSError:
            unchanged = False
        if unchanged:
            self.pack_yaml = _sha(before)
            if _keep(path, pack):
                self.used.add(key)
        return pack

    def model(
        self, node: ast.Model, shared: SharedDefinitions
    ) -> tuple[ir.Model, list[Diagnostic]] | None:
        """What checking `node` found before, if nothing it depends on has changed; else None.

        Its file's text and shown name, pack.yaml, the engine and the names of every
        shared item (a new definition can take a name the model reads) give the
        entry's key; the checked form of each shared item its checked form reaches,
        now, must be what it was. The model's own uids are moved to follow the uids
        given so far, and `shared` skips them, as a check of the whole pack would.
        """
        key = self._key(node, shared)
        if key is None or self.folder is None:
            return None
        kept = _kept(self.folder.parent / MODELS / f"{key}.pickle")
        if kept is None or kept.model.id != node.id:
            return None
        if kept.reaches != self._reaches(kept.items, shared):
            return None
        model, after, was = kept.model, shared.uids_given, kept.after_uid
        if after != was:
            model = _moved(model, was, was + kept.uids, after - was)
        shared.skip_uids(kept.uids)
        self.models[key] = (replace(kept, after_uid=after, model=model), after != was)
        return model, list(kept.found)

    def checked(
        self,
        node: ast.Model,
        shared: SharedDefinitions,
        after_uid: int,
        model: ir.Model,
        found: list[Diagnostic],
    ) -> None:
        """Keep what checking `node` found now (written by `CheckCache.save`, if no error)."""
        key = self._key(node, shared)
        if key is None:
            return
        items = tuple(_closure(model, _table(shared)))
        uids = shared.uids_given - after_uid
        reaches = self._reaches(items, shared)
        self.models[key] = (_Kept(items, reaches, after_uid, uids, model, tuple(found)), True)

    def _key(self, node: ast.Model, shared: SharedDefinitions) -> str | None:
        """The digest of what a model's check reads besides the shared items it reaches."""
        text = self.texts.get(node.span.file)
        if self.folder is None or self.pack_yaml is None or text is None:
            return None
        if self._names is None or self._names[0] != id(shared):
            names = sorted(
                [
                    *(f"define {n}" for n in shared.define_asts),
                    *(f"relation {n}" for n in shared.relation_asts),
                    *(f"lookup {n}" for n in shared.lookup_asts),
                ]
            )
            self._names = (id(shared), _sha("\0".join(names).encode()))
        said = [engine_key(), self.pack_yaml, node.span.file, text[0], str(text[1]), node.id]
        return _sha("\0".join([*said, self._names[1]]).encode())

    def _reaches(self, items: tuple[tuple[str, str], ...], shared: SharedDefinitions) -> str:
        """A digest of the checked forms of `items` (shared items) as they are now."""
        table = _table(shared)
        said = [f"{k}\0{n}\0{_item_digest(self.items, k, n, table(k, n))}" for k, n in items]
        return _sha("\0".join(said).encode())

    def reached(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """The shared items each model of this check reaches, by model id, as found checking it."""
        return {kept.model.id: kept.items for kept, _ in self.models.values()}

    def save_models(self) -> None:
        """Write the entries models/ does not hold yet; delete those this check did not use.

        The caller calls it only after a check that found no error.
        """
        if self.folder is None:
            return
        folder = self.folder.parent / MODELS
        for key, (kept, new) in self.models.items():
            if new:
                _keep(folder / f"{key}.pickle", kept.plain())
        _forget(folder, set(self.models))

    def forget_unused(self) -> None:
        """Delete the trees of file versions this check did not see: edits leave old ones."""
        if self.folder is not None:
            _forget(self.folder, self.used)


def _forget(folder: Path, used: set[str]) -> None:
    """Delete the cache files of `folder` not named in `used` (nothing when `used` is empty)."""
    if not used:
        return
    try:
        for path in folder.glob("*.pickle"):
            if path.stem not in used:
                path.unlink(missing_ok=True)
    except OSError:
        pass


OUTLINE = ".outline"
"""The suffix of a tree's outline: its models without their clauses (`ParsedFiles.whole`)."""


def _keep_outline(path: Path, tree: ast.RuleFile) -> None:
    """Keep `tree` with each model cut to an outline (no clauses), beside the tree itself.

    A file whose models all have clauses only: a model written without any is kept
    whole (an outline could not be told from it).
    """
    models = [i for i in tree.items if isinstance(i, ast.Model)]
    if models and all(m.clauses for m in models):
        items = tuple(replace(i, clauses=()) if isinstance(i, ast.Model) else i for i in tree.items)
        _keep(path, replace(tree, items=items))


def _unpickled(path: Path) -> Any:
    """What a cache file holds, read by `TreesOnly`; None when it is missing or unreadable."""
    try:
        return TreesOnly(io.BytesIO(path.read_bytes())).load()
    except Exception:  # a miss, whatever is wrong with the file
        return None


def _keep(path: Path, value: Any) -> bool:
    """Write `value` to the cache file `path` in one step; False when it cannot be.

    A cache that cannot be written is only slower next time.
    """
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_file(path, lambda out: out.write(data))
    except (OSError, pickle.PicklingError, RecursionError):
        return False
    return True


@dataclass(frozen=True)
class _Kept:
    """One model's file in models/: what checking it found, and from what.

    `items`: the shared items its checked form reaches (through one another);
    `reaches`: the digest of their checked forms then; `after_uid`, `uids`: its own
    uids were the `uids` after `after_uid`.
    """

    items: tuple[tuple[str, str], ...]
    reaches: str
    after_uid: int
    uids: int
    model: ir.Model
    found: tuple[Diagnostic, ...]

    def plain(self) -> tuple[Any, ...]:
        """As the file holds it: plain values and trees only (`TreesOnly`), with the format."""
        fields_ = (self.items, self.reaches, self.after_uid, self.uids, self.model, self.found)
        return (FORMAT, *fields_)


def _kept(path: Path) -> _Kept | None:
    """A model's entry as its file holds it; None when missing, unreadable or malformed."""
    value = _unpickled(path)
    if not (isinstance(value, tuple) and len(value) == 7 and value[0] == FORMAT):
        return None
    _, items, reaches, after_uid, uids, model, found = value
    if (
        isinstance(reaches, str)
        and type(after_uid) is int
        and type(uids) is int
        and isinstance(items, tuple)
        and all(
            isinstance(i, tuple) and len(i) == 2 and all(isinstance(p, str) for p in i)
            for i in items
        )
        and isinstance(model, ir.Model)
        and isinstance(found, tuple)
        and all(isinstance(d, Diagnostic) for d in found)
    ):
        return _Kept(items, reaches, after_uid, uids, model, found)
    return None


def _table(shared: SharedDefinitions) -> Callable[[str, str], Any]:
    """A shared item's checked form by kind and name (None: failed or not declared)."""
    tables = {"define": shared.defines, "lookup": shared.lookups, "relation": shared.relations}
    return lambda kind, name: tables[kind].get(name)


def _item_digest(memo: dict[tuple[str, str], str], kind: str, name: str, item: Any) -> str:
    """The digest of one shared item's checked form, without places; kept in `memo`."""
    known = memo.get((kind, name))
    if known is None:
        text = json.dumps(dump(item, spans=False), ensure_ascii=False, sort_keys=True)
        known = memo[(kind, name)] = _sha(f"{kind} {name}\0{text}".encode())
    return known


def _closure(node: Any, table: Callable[[str, str], Any]) -> list[tuple[str, str]]:
    """Every shared item `node` reaches, through the items it reaches, sorted."""
    seen: set[tuple[str, str]] = set()
    todo: set[tuple[str, str]] = set()
    _reached(node, todo)
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        shared = table(*item)
        if shared is not None:
            _reached(shared, todo)
    return sorted(seen)


_PLAIN = (str, int, float, Enum, Span, Decimal, date, type(None))


def _moved(value: Any, low: int, high: int, by: int) -> Any:
    """`value` with the uid of every binding in (low, high] moved by `by` (the rest as it is)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, ir.Binding):
        return replace(value, uid=value.uid + by) if low < value.uid <= high else value
    if isinstance(value, Node):
        changes = {}
        for part in fields(value):  # every field: bindings are not nodes, so `rewrite` skips them
            old = getattr(value, part.name)
            new = _moved(old, low, high, by)
            if new is not old:
                changes[part.name] = new
        return replace(value, **changes) if changes else value
    if isinstance(value, tuple):
        items = tuple(_moved(v, low, high, by) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, frozenset):
        return frozenset(_moved(v, low, high, by) for v in value)
    return value


def _reached(node: Any, found: set[tuple[str, str]]) -> None:
    """The shared items `node` names directly: defines, lookups, relations it reads."""
    for item in walk(node):
        if isinstance(item, ir.DefCall):
            found.add(("define", item.name))
        elif isinstance(item, ir.LookupCall):
            found.add(("lookup", item.name))
        elif isinstance(item, ir.From) and item.binding.is_relation:
            found.add(("relation", item.binding.source))


@dataclass
class Dependencies:
    """The digests of what each model's outcome (and the index's) depends on, for one pack."""

    pack: ir.CheckedPack
    pack_yaml: str  # the sha256 of pack.yaml as read before the pack was checked
    parent: Path  # the folder of the pack's folder, resolved
    engine: str  # what reads them: `engine_key()` here, the compiler's for compiled/
    _items: dict[tuple[str, str], str] = field(default_factory=dict)

    def _shared(self, kind: str, name: str) -> Any:
        table = {
            "define": self.pack.defines,
            "lookup": self.pack.lookups,
            "relation": self.pack.relations,
        }[kind]
        return table.get(name)

    def _closure(self, node: Any) -> list[tuple[str, str]]:
        """Every shared item `node` reaches, through the items it reaches, sorted."""
        return _closure(node, self._shared)

    def _item_digest(self, kind: str, name: str) -> str:
        return _item_digest(self._items, kind, name, self._shared(kind, name))

    def of(
        self,
        node: ir.Model | ir.Index,
        text: str,
        reaches: Iterable[tuple[str, str]] | None = None,
    ) -> str:
        """A digest of what `node` compiles and runs its examples from; `text` is its file's.

        The rule file as it was parsed (its examples and the header of its compiled
        files are in it), its name as those headers give it, pack.yaml, the engine, and
        the checked form (without places) of every shared item it reaches: editing a
        define changes the digest of the models that call it and of no other.
        engine/compiler/reviewed.py keeps the same digest, with the compiler for the
        engine, in compiled/fingerprint.json. `reaches`: those shared items, when the
        check found them already (`ParsedFiles.reached`).
        """
        try:  # as the compiled files' headers name it: from the pack's parent folder
            named = Path(node.file).resolve().relative_to(self.parent).as_posix()
        except ValueError:
            named = str(Path(node.file).resolve())
        digest = hashlib.sha256(f"{self.engine}\0{named}\0".encode())
        digest.update(f"{self.pack_yaml}\0{_sha(text.encode('utf-8', 'surrogatepass'))}".encode())
        # and its bytes, which the headers hash: line endings alone change them, not the text
        digest.update(_sha(Path(node.file).read_bytes()).encode())
        for kind, name in self._closure(node) if reaches is None else reaches:
            digest.update(f"{kind}\0{name}\0{self._item_digest(kind, name)}\0".encode())
        return digest.hexdigest()


INDEX = "index"
"""The index's entry (no model is called index: E282)."""


@dataclass
class Entry:
    """What a check found for one model (or the index), under the digest of its inputs."""

    digest: str
    examples: list[str] | None = None  # the titles of its examples, when all of them passed
    compiled: dict[str, str] | None = None  # compiled/ file → sha256 of its text


class CheckCache:
    """The cache of one pack's `.oversight/`; `CheckCache.off()` is one that keeps nothing."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.parsed = ParsedFiles(folder / PARSED if folder is not None else None)
        self.entries: dict[str, Entry] = {}
        self.digests: dict[str, str] = {}
        self.pack_yaml: str | None = None
        self.engine_recorded: tuple[str, str] | None = None  # engine.json: (stamp, key)
        if folder is not None:
            self.engine_recorded = _read_engine(folder / ENGINE)
            self.entries = _read(folder / RESULTS)
            self.pack_yaml = _pack_yaml(folder.parent)

    @classmethod
    def of(cls, policies: str | Path) -> CheckCache:
        """The cache of the pack at `policies` (nothing is written until `save`)."""
        return cls(Path(policies) / FOLDER)

    @classmethod
    def off(cls) -> CheckCache:
        """`--no-cache`: nothing is read, nothing written."""
        return cls(None)

    def know(self, pack: ir.CheckedPack, texts: dict[str, str]) -> None:
        """Work out the digest of every model and of the index of `pack` as it was checked.

        `texts` are the rule files as they were parsed (shown name → text): a file
        saved again while the check runs must not lend its new digest to what the
        old text gave.
        """
        if self.folder is None or self.pack_yaml is None:
            return
        parent = Path(pack.pack.root).resolve().parent
        dependencies = Dependencies(pack, self.pack_yaml, parent, engine_key(), self.parsed.items)
        nodes: list[tuple[str, ir.Model | ir.Index]] = list(pack.models.items())
        if pack.index is not None:
            nodes.append((INDEX, pack.index))
        reached = self.parsed.reached()
        for name, node in nodes:
            text = texts.get(node.file)
            try:
                if text is not None:
                    reaches = reached.get(name) if name != INDEX else None
                    self.digests[name] = dependencies.of(node, text, reaches)
            except OSError:
                pass  # its file is gone already: nothing is kept of it

    def _current(self, name: str) -> Entry | None:
        entry = self.entries.get(name)
        digest = self.digests.get(name)
        if entry is None or digest is None or entry.digest != digest:
            return None
        return entry

    def examples_passed(self, model: ir.Model) -> bool:
        """Whether every example of `model`, as it is now, passed in an earlier check."""
        entry = self._current(model.id)
        return entry is not None and entry.examples == [e.title for e in model.examples]

    def passed(self, model: ir.Model, passed: bool) -> None:
        """Record the examples of `model` as run now: kept only when all of them passed."""
        entry = self._entry(model.id)
        if entry is not None:
            entry.examples = [e.title for e in model.examples] if passed else None

    def compiled(self, names: Iterable[str]) -> dict[str, str]:
        """The compiled/ digests of every model and the index whose inputs are unchanged."""
        known: dict[str, str] = {}
        for name in names:
            entry = self._current(name)
            if entry is not None and entry.compiled is not None:
                known.update(entry.compiled)
        return known

    def compiled_now(self, name: str, digests: dict[str, str]) -> None:
        """Record what the model (or the index) `name` compiles to now, file → sha256."""
        entry = self._entry(name)
        if entry is not None:
            entry.compiled = digests

    def _entry(self, name: str) -> Entry | None:
        digest = self.digests.get(name)
        if digest is None:
            return None
        entry = self._current(name)
        if entry is None:
            entry = self.entries[name] = Entry(digest)
        return entry

    def save(self) -> None:
        """Write what is current (entries of models gone or changed are dropped), in one step."""
        if self.folder is None:
            return
        self.parsed.forget_unused()
        if not self.digests or _pack_yaml(self.folder.parent) != self.pack_yaml:
            return  # pack.yaml changed while the pack was checked: what was found is not its
        if self.parsed.pack_yaml == self.pack_yaml:  # the pack.yaml the models were checked with
            self.parsed.save_models()
        record = {
            "about": "written by oversight check; safe to delete",
            "format": FORMAT,
            "engine": engine_key(),
            "entries": {
                name: {"digest": e.digest, "examples": e.examples, "compiled": e.compiled}
                for name, e in sorted(self.entries.items())
                if self.digests.get(name) == e.digest
            },
        }
        data = json.dumps(record, ensure_ascii=False, indent=1).encode() + b"\n"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                replace_file(ignore, lambda out: out.write(IGNORE_ALL.encode()))
            replace_file(self.folder / RESULTS, lambda out: out.write(data))
        except OSError:
            pass  # a pack on a read-only disk is checked in full every time
        _keep_engine(self.folder / ENGINE, self.engine_recorded)


def _read_engine(path: Path) -> tuple[str, str] | None:
    """Take in the engine key a pack's cache recorded, with the stamp it was found at."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        stamp, key = record["stamp"], record["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(v, str) and len(v) == 64 and v.isalnum() for v in (stamp, key)):
        return None
    KNOWN_ENGINE_KEYS.setdefault(stamp, key)
    return stamp, key


def _keep_engine(path: Path, recorded: tuple[str, str] | None) -> None:
    """Record this process's engine key and its stamp, unless the file holds them already."""
    key = engine_key()
    stamp = _STAMPS.get(key)
    if stamp is None or recorded == (stamp, key):
        return
    data = json.dumps({"stamp": stamp, "key": key}).encode() + b"\n"
    try:
        replace_file(path, lambda out: out.write(data))
    except OSError:
        pass


def _pack_yaml(root: Path) -> str | None:
    try:
        return _sha((root / "pack.yaml").read_bytes())
    except OSError:
        return None


def _read(path: Path) -> dict[str, Entry]:
    """The entries of a cache file; none when it is missing, unreadable, or not this engine's."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("format") != FORMAT or record.get("engine") != engine_key():
            return {}
        return dict(_entries(record["entries"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _entries(raw: dict[str, Any]) -> Iterator[tuple[str, Entry]]:
    """Each well-formed entry; a malformed one is skipped, as if it had never been written."""
    for name, value in raw.items():
        digest, examples, compiled = value.get("digest"), value.get("examples"), value["compiled"]
        if not isinstance(digest, str):
            continue
        if examples is not None and not (
            isinstance(examples, list) and all(isinstance(t, str) for t in examples)
        ):
            examples = None
        if compiled is not None and not (
            isinstance(compiled, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in compiled.items())
        ):
            compiled = None
        yield name, Entry(digest, examples, compiled)
