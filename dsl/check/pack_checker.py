"""Stage 2, check: parsed rule files and pack.yaml to a typed `CheckedPack`, or diagnostics.

Resolves every name against the source catalog, parameters, shared
definitions and relations; types every expression; enforces the rules of
grouping and of inline examples. Collects every problem in every file
before giving up, and never raises for a problem in the rules.

`PackChecker` plans the whole: it takes in every item, checks the shared
definitions (dsl/check/shared.py), each model (dsl/check/models.py), then
the index (dsl/check/index.py); all of them check expressions with the one
core of dsl/check/expressions.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dsl import ast, ir
from dsl.check.index import IndexCheck
from dsl.check.models import STATUSES, ModelCheck
from dsl.check.report import Reporter
from dsl.check.shared import SharedDefinitions
from dsl.diagnostics import Diagnostic, DiagnosticError, Severity
from dsl.messages import diagnostic
from dsl.pack import SEVERITY_ALIASES, Pack, load_pack


@dataclass
class CheckResult:
    """What `check_pack` found: the checked pack (None when there are errors) and diagnostics."""

    pack: ir.CheckedPack | None
    diagnostics: list[Diagnostic]
    sources: dict[str, str] = field(default_factory=dict)  # file -> text, for rendering
    files: list[str] = field(default_factory=list)
    # The models the model checker went through; the others' outcome was found before.
    models_checked: list[str] = field(default_factory=list)


class ParsedFiles(Protocol):
    """What an earlier check parsed and found (`oversight check`'s cache).

    `get` gives the tree of exactly this text, shown under this name, or None, its models
    perhaps as outlines (id and places, no clauses) that `whole` gives whole; `put` is
    handed only a tree that parsed without a diagnostic. `model` gives what checking a
    model found before (its checked form and diagnostics) when nothing that can change
    it has changed, else None; `checked` is handed each model checked now, with the uid
    it started after and what it found.
    """

    def get(self, shown: str, text: str, examples: bool) -> ast.RuleFile | None: ...

    def put(self, shown: str, text: str, examples: bool, tree: ast.RuleFile) -> None: ...

    def whole(self, node: ast.Model) -> ast.Model:
        """The model as parsed, where `get` gave `node` as an outline; else `node`."""
        ...

    def pack(self, root: Path, engine_version: str | None, load: Callable[[], Pack]) -> Pack:
        """pack.yaml as read before if it is unchanged, else `load()` (which may raise)."""
        ...

    def model(
        self, node: ast.Model, shared: SharedDefinitions
    ) -> tuple[ir.Model, list[Diagnostic]] | None:
        """The model as checked before, its uids moved to follow `shared`'s, which skips them."""
        ...

    def checked(
        self,
        node: ast.Model,
        shared: SharedDefinitions,
        after_uid: int,
        model: ir.Model,
        found: list[Diagnostic],
    ) -> None: ...


def rule_files(root: Path) -> list[Path]:
    """The pack's rule files, in a stable order."""
    return sorted(root.rglob("*.rule"), key=lambda p: p.relative_to(root).as_posix())


Unparsed = tuple[str, "str | None"]
"""A rule file to parse: its name as shown, and its text (None: not UTF-8, said by the parser)."""


@dataclass
class NotParsed:
    """A rule file's syntax errors, and what of it could be read (a bad date or brace)."""

    diagnostics: list[Diagnostic]
    partial: ast.RuleFile | None


Parsed = ast.RuleFile | NotParsed


def parse_one(shown: str, text: str | None, examples: bool) -> Parsed:
    """One rule file parsed, or its syntax errors."""
    from dsl.parser import parse_file  # Lark: only for a file the cache has not seen

    try:
        return parse_file(shown, text, examples)
    except DiagnosticError as err:
        return NotParsed(err.diagnostics, err.partial)


def check_pack(
    root: str | Path,
    engine_version: str | None = None,
    examples: bool = True,
    parsed_before: ParsedFiles | None = None,
    parse: Callable[[list[Unparsed], bool], list[Parsed]] | None = None,
) -> CheckResult:
    """Parse and check every rule file of the pack at `root` against its pack.yaml.

    With `engine_version`, a pack made for another engine is refused (E604).
    With `examples` false, inline examples are neither parsed nor required:
    for commands that only compile or run the models. `parsed_before` may hold
    the trees of unchanged files and what checking their models found: a model
    whose file, pack.yaml, shared items it reaches and engine are unchanged is not
    checked again (its diagnostics are said again). Everything else is checked.
    `parse` parses the files `parsed_before` does not know, each as `parse_one`
    does (`oversight check` shares them between two processes).
    """
    root = Path(root)
    try:
        if parsed_before is None:
            pack = load_pack(root, engine_version)
        else:
            pack = parsed_before.pack(root, engine_version, lambda: load_pack(root, engine_version))
    except DiagnosticError as err:
        return CheckResult(None, err.diagnostics)
    diagnostics: list[Diagnostic] = []
    texts: dict[str, str] = {}
    files = rule_files(root)
    here = Path.cwd().resolve()
    shown_paths = [_shown_path(path, here) for path in files]
    trees: dict[str, Parsed] = {}  # by the name shown
    todo: list[Unparsed] = []
    for path, shown in zip(files, shown_paths, strict=True):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            texts[shown] = text
            known = parsed_before.get(shown, text, examples) if parsed_before else None
            if known is not None:
                trees[shown] = known
                continue
        todo.append((shown, text))
    if todo:
        now = parse(todo, examples) if parse else [parse_one(*f, examples) for f in todo]
        for (shown, text), tree in zip(todo, now, strict=True):
            trees[shown] = tree
            if isinstance(tree, ast.RuleFile) and parsed_before is not None and text is not None:
                parsed_before.put(shown, text, examples, tree)
    parsed: list[ast.RuleFile] = []
    for shown in shown_paths:
        tree = trees[shown]
        if isinstance(tree, NotParsed):
            diagnostics.extend(tree.diagnostics)
            if tree.partial is None:
                continue
            tree = tree.partial  # a bad date or message brace: check the rest as well
        parsed.append(tree)
    if not files:
        diagnostics.append(diagnostic("E600.no_rule_files", None, root=root))
    checker = PackChecker(pack, diagnostics, examples, parsed_before)
    checked = checker.check(parsed)
    errors = [d for d in diagnostics if d.severity is not Severity.WARNING]
    return CheckResult(
        None if errors else checked,
        diagnostics,
        texts,
        shown_paths,
        checker.models_checked,
    )


def _shown_path(path: Path, here: Path) -> str:
    """A path as diagnostics show it: relative to `here` (the working directory) when below it."""
    try:
        return path.resolve().relative_to(here).as_posix()
    except ValueError:
        return str(path)


class PackChecker(Reporter):
    """Checks one pack's parsed files (`check`); appends problems to `diagnostics`."""

    def __init__(
        self,
        pack: Pack,
        diagnostics: list[Diagnostic],
        examples: bool = True,
        before: ParsedFiles | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.pack = pack
        self.examples = examples  # whether the files were parsed with their examples
        self.before = before  # what an earlier check found (`check_pack`'s parsed_before)
        self.models_checked: list[str] = []

    def check(self, files: list[ast.RuleFile]) -> ir.CheckedPack:
        """The pack the files make: shared items first, then every model, then the index."""
        shared = SharedDefinitions(self.pack, self.diagnostics)
        model_asts: dict[str, ast.Model] = {}
        index_asts: list[ast.Index] = []
        for rule_file in files:
            for item in rule_file.items:
                if isinstance(item, ast.Index):
                    index_asts.append(item)
                elif isinstance(item, ast.Model):
                    if item.id in model_asts:
                        first = model_asts[item.id].id_span
                        self.error(
                            "E207",
                            item.id_span,
                            id=item.id,
                            hints=[
                                f"首次定义于 {first.file}:{first.line} / first defined at "
                                f"{first.file}:{first.line}"
                            ],
                        )
                    else:
                        self._id_apart(item, model_asts)
                        model_asts[item.id] = item
                else:
                    shared.declare(item)
        shared.check_all()
        models = {}
        for model_id, model_ast in model_asts.items():
            checked = self._model(model_ast, shared)
            if checked is not None:
                models[model_id] = checked
        for extra in index_asts[1:]:
            first = index_asts[0].name_span
            self.error(
                "E440",
                extra.name_span,
                hints=[
                    f"首个指数定义于 {first.file}:{first.line} / the first is at "
                    f"{first.file}:{first.line}"
                ],
            )
        if index_asts and not self.pack.has_townships:
            self.error(
                "E382",
                index_asts[0].name_span,
                hints=[
                    "廉情指数给各乡镇打分排名；删去 index，或在 pack.yaml 中列出乡镇 / the index "
                    "ranks townships: delete it, or list the townships in pack.yaml"
                ],
            )
            index_asts = []
        index = IndexCheck(shared).check(index_asts[0]) if index_asts else None
        defines, relations, lookups = shared.checked()
        return ir.CheckedPack(self.pack, models, defines, relations, index, lookups)

    def _model(self, node: ast.Model, shared: SharedDefinitions) -> ir.Model | None:
        """One model checked, or as an earlier check found it when nothing it depends on changed.

        In the pack's order either way: diagnostics keep their order, and uids follow
        one another as in a check of the whole.
        """
        before = self.before.model(node, shared) if self.before is not None else None
        if before is not None:
            model, found = before
            self.diagnostics.extend(found)
            return model
        start, after_uid = len(self.diagnostics), shared.uids_given
        if self.before is not None:
            node = self.before.whole(node)
        model = ModelCheck(shared, self.examples).check(node)
        self.models_checked.append(node.id)
        if model is not None and self.before is not None:
            self.before.checked(node, shared, after_uid, model, self.diagnostics[start:])
        return model

    def _id_apart(self, node: ast.Model, earlier: dict[str, ast.Model]) -> None:
        """An id must name its model alone wherever it is written (E281, E282).

        compiled/DIALECT/ID.sql is a file, and on a disk that ignores case ENG01 and
        eng01 are one file (as index.sql is the index's); `--select` reads a word
        as a model id first, so a model called red or 工程管理 would hide that
        severity or domain.
        """
        same = next((m for m in earlier.values() if m.id.casefold() == node.id.casefold()), None)
        if same is not None:
            self.error(
                "E281",
                node.id_span,
                node_id=node.id,
                same_id=same.id,
                hints=[
                    f"{same.id} 定义于 {same.id_span.file}:{same.id_span.line}；"
                    "两者的 SQL 文件在不区分大小写的磁盘上是同一个文件，换一个编号 / their SQL "
                    "files are one file on a disk that ignores case: choose another id"
                ],
            )
        taken = {
            **{code: "领域 domain" for code in self.pack.domains},
            **{name: "领域 domain" for name in self.pack.domains.values()},
            **{word: "预警等级 severity" for word in SEVERITY_ALIASES},
            **{word: "模型状态 status" for word in STATUSES},
        }
        what = taken.get(node.id) or ("指数 index" if node.id.casefold() == "index" else None)
        if what is None:
            return
        zh, en = what.split()
        hint = (
            "compiled/方言/index.sql 是指数的 SQL 文件：换一个编号 / "
            "compiled/DIALECT/index.sql is the index's SQL: choose another id"
            if en == "index"
            else f"--select {node.id} 会选中这个模型，而不是这个{zh}：换一个编号 / "
            f"--select {node.id} would pick this model, not the {en}: choose another id"
        )
        self.error("E282", node.id_span, id=node.id, zh=zh, en=en, hints=[hint])
