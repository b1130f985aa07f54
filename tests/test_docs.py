"""The documents for policy staff (docs/) say what oversight really does.

- Every diagnostic code has a heading in docs/错误代码.md with the title of the
  message catalog (dsl/messages.toml), and every code there still exists: see
  tests/test_messages_catalog.py.
- Every function of dsl.functions.SIGNATURES has a heading `name(…)` in
  docs/函数参考.md, and every such heading names a function.
- The fenced snippets of every document in docs/ are run, by their info string:

  ```rule            a whole rule file. It parses, and it checks in a pack of the
                     repository's pack.yaml and shared definitions (a snippet that
                     redefines a shared name stands in for policies/shared/common.rule),
                     with every inline example passing.
  ```rule-expr CLAUSES  expressions, one per paragraph, each type-checked as the `let`
                     of a draft model whose other clauses are CLAUSES (by default
                     `from ref_township t`).
  ```rule-value      lines `EXPR → TEXT`: a message writes the value of EXPR as TEXT.
  ```pack-yaml       lines added at the end of the repository's pack.yaml: the pack then
                     loads, and its rules check without errors.
  ```rule-error      a rule file with a mistake: it yields exactly the code in the
                     heading of its section, no other (E7xx: when compiled for duckdb).
  ```pack-error      the same for a pack.yaml, ```deployment-error for a deployment
                     file, ```disposal-error for a disposal CSV file.

  ```yaml parameters  parameters (as under pack.yaml's `parameters:`) that the rule
                     snippets after it in the same document may read: they are added
                     to the pack they are checked in, and must load.

  A ```text block after an error snippet, in the same section, whose first line
  looks like `FILE:LINE:COL: error[CODE]: …`, is what oversight prints for it,
  word for word, the snippet being the file FILE. After an intended change of
  wording, refresh those blocks with one command and read the diff:

      OVERSIGHT_UPDATE_GOLDENS=1 python -m pytest tests/test_docs.py

- docs/ci-policy-repo.yml is a workflow that runs what docs/策略仓库的持续集成.md says.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from dsl import ast as rules
from dsl.diagnostics import Diagnostic, DiagnosticError, Severity, render_human
from dsl.functions import FORMATTERS, SIGNATURES
from dsl.pack import Pack, load_pack
from dsl.parser import parse_expression, parse_file
from engine import api
from engine.index.disposal import load_disposal_file
from engine.policy.deployment import load_deployment

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "编写监督模型.md"
FUNCTIONS = DOCS / "函数参考.md"
ERRORS = DOCS / "错误代码.md"
CI_GUIDE = DOCS / "策略仓库的持续集成.md"
WORKFLOW = DOCS / "ci-policy-repo.yml"
POLICIES = ROOT / "policies"
SHARED = POLICIES / "shared" / "common.rule"
UPDATE = os.environ.get("OVERSIGHT_UPDATE_GOLDENS") == "1"

CODE = re.compile(r"\b([EW]\d{3})\b")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
FUNCTION_HEADING = re.compile(r"^`?([a-z_][a-z0-9_]*)\(")
PRINTED = re.compile(r"^(?:(?P<file>\S+?):\d+:\d+: )?(?:error|warning|internal)\[[EW]\d{3}\]")
ERROR_KINDS = ("rule-error", "pack-error", "deployment-error", "disposal-error")
DEFAULT_FILES = {
    "rule-error": "policies/models/doc.rule",
    "pack-error": "policies/pack.yaml",
    "deployment-error": "deployment.yaml",
    "disposal-error": "处置记录.csv",
}
TOWNSHIP = "330122001"
# A message formatter applied to a value, and its literal arguments after it: pct(1 / 3, 1).
FORMATTED = re.compile(rf"\s*({'|'.join(sorted(FORMATTERS))})\((.*?)(,\s*\d+)?\)\s*", re.DOTALL)


# ---- reading the documents -------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One fenced block of a document, with the heading of the section it stands in."""

    doc: Path
    ordinal: int  # the how-manieth block of the document it is, from 0
    line: int  # the line of the opening fence
    kind: str  # the first word of the info string
    context: str  # the rest of the info string
    body: str
    heading: str
    section: int  # blocks under the same heading share it

    @property
    def id(self) -> str:
        return f"{self.doc.name}:{self.line}"


def _headings(text: str, fences: list[re.Match[str]]) -> list[tuple[int, str]]:
    """Where each heading of a document starts, and its text (`#` comments in code are not)."""
    inside = [(m.start(), m.end()) for m in fences]
    return [
        (m.start(), m.group(1))
        for m in HEADING.finditer(text)
        if not any(start <= m.start() < end for start, end in inside)
    ]


def headings(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    return [h for _, h in _headings(text, list(FENCE.finditer(text)))]


def read_blocks(doc: Path) -> list[Block]:
    """Every fenced block of `doc`, in order."""
    text = doc.read_text(encoding="utf-8")
    fences = list(FENCE.finditer(text))
    titles = _headings(text, fences)
    found = []
    for ordinal, fence in enumerate(fences):
        above = [(i, h) for i, (at, h) in enumerate(titles) if at < fence.start()]
        section, heading = above[-1] if above else (-1, "")
        kind, _, context = fence.group(1).strip().partition(" ")
        line = text.count("\n", 0, fence.start()) + 1
        found.append(
            Block(doc, ordinal, line, kind, context.strip(), fence.group(2), heading, section)
        )
    return found


def all_blocks() -> list[Block]:
    return [b for doc in sorted(DOCS.glob("*.md")) for b in read_blocks(doc)]


def blocks_of(*kinds: str) -> list[object]:
    return [pytest.param(b, id=b.id) for b in all_blocks() if b.kind in kinds]


def output_after(block: Block) -> Block | None:
    """The ```text block that shows what oversight prints for `block`, if the doc has one."""
    following = read_blocks(block.doc)[block.ordinal + 1 :]
    if not following:
        return None
    nxt = following[0]
    if nxt.kind != "text" or nxt.section != block.section or not PRINTED.match(nxt.body):
        return None
    return nxt


# ---- codes and functions ---------------------------------------------------------------------


def function_headings() -> list[str]:
    return [m.group(1) for h in headings(FUNCTIONS) if (m := FUNCTION_HEADING.match(h))]


def test_every_function_has_a_heading():
    missing = sorted(set(SIGNATURES) - set(function_headings()))
    assert not missing, f"give these functions a heading `name(…)` in {FUNCTIONS.name}: {missing}"


def test_every_function_heading_names_a_function():
    unknown = sorted(set(function_headings()) - set(SIGNATURES))
    assert not unknown, f"{FUNCTIONS.name} has headings for functions that do not exist: {unknown}"


def test_the_documents_have_snippets_of_every_kind():
    kinds = {b.kind for b in all_blocks()}
    assert {"rule", "rule-expr", "rule-value", "pack-yaml", *ERROR_KINDS} <= kinds
    assert GUIDE.exists() and CI_GUIDE.exists() and WORKFLOW.exists()


# ---- running snippets ------------------------------------------------------------------------


_PACKS: dict[tuple[str, str, str | None], Pack] = {}


def _cached_load_pack(root: str | Path, engine_version: str | None = None) -> Pack:
    """dsl.pack.load_pack, read once per pack.yaml text: nearly every snippet has the same one.

    Reading the repository's pack.yaml takes most of the time of checking a snippet.
    A pack.yaml with problems is read every time, so its diagnostics are the real ones.
    """
    path = Path(root) / "pack.yaml"
    key = (str(root), path.read_text(encoding="utf-8") if path.exists() else "", engine_version)
    if key not in _PACKS:
        _PACKS[key] = load_pack(root, engine_version)
    return _PACKS[key]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the working directory, so that diagnostics name files relatively."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("dsl.check.pack_checker.load_pack", _cached_load_pack)
    return tmp_path


def shared_names(text: str) -> set[str]:
    return {
        item.name
        for item in parse_file("shared.rule", text).items
        if isinstance(item, rules.Define | rules.Relation | rules.Lookup)
    }


def section_parameters(block: Block) -> str:
    """The parameters declared above `block` in its document, for its snippets to read as $name.

    Every ```yaml parameters block before it counts; a later declaration of a
    name replaces an earlier one.
    """
    merged = CommentedMap()
    for earlier in read_blocks(block.doc)[: block.ordinal]:
        if (earlier.kind, earlier.context) == ("yaml", "parameters"):
            merged.update(YAML(typ="rt").load(earlier.body))
    if not merged:
        return ""
    written = io.StringIO()
    YAML(typ="rt").dump(merged, written)
    return written.getvalue()


def with_parameters(pack_yaml: str, parameters: str) -> str:
    """pack.yaml's text with `parameters` (a mapping at column 0) first under its `parameters:`."""
    if not parameters:
        return pack_yaml
    indented = "".join(
        f"  {line}" if line.strip() else line for line in parameters.splitlines(True)
    )
    head, found, rest = pack_yaml.partition("\nparameters:\n")
    assert found, "pack.yaml has a block `parameters:`"
    return head + found + indented + rest


def make_pack(
    folder: Path, files: dict[str, str], replace_shared: bool = False, parameters: str = ""
) -> Path:
    """policies/ in `folder`: the repository's pack.yaml and shared definitions, plus `files`.

    With `replace_shared`, a rule file that redefines a shared name stands in for
    policies/shared/common.rule (a snippet that shows the shared definitions themselves).
    `parameters` are declared in pack.yaml besides its own (see section_parameters).
    """
    policies = folder / "policies"
    (policies / "shared").mkdir(parents=True, exist_ok=True)
    pack_yaml = (POLICIES / "pack.yaml").read_text(encoding="utf-8")
    (policies / "pack.yaml").write_text(with_parameters(pack_yaml, parameters), encoding="utf-8")
    common = SHARED.read_text(encoding="utf-8")
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if replace_shared and common is not None and shared_names(text) & shared_names(common):
            common = None
    if common is not None:
        (policies / "shared" / "common.rule").write_text(common, encoding="utf-8")
    return Path("policies")


def errors_of(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity is not Severity.WARNING]


def check(
    folder: Path, files: dict[str, str], replace_shared: bool = False, parameters: str = ""
) -> tuple[list[Diagnostic], dict[str, str]]:
    """What `oversight check` says about the pack with `files`: diagnostics and file texts."""
    report = api.check(make_pack(folder, files, replace_shared, parameters))
    return report.diagnostics, report.sources


PARAMETER_BLOCKS = [
    pytest.param(b, id=b.id) for b in all_blocks() if (b.kind, b.context) == ("yaml", "parameters")
]


@pytest.mark.parametrize("block", PARAMETER_BLOCKS)
def test_parameters_snippet_declares_parameters(block: Block, workdir: Path):
    declared = load_pack(make_pack(workdir, {}, parameters=block.body)).parameters
    assert set(YAML(typ="safe").load(block.body)) <= set(declared)


@pytest.mark.parametrize("block", blocks_of("rule"))
def test_rule_snippet_parses_and_checks(block: Block, workdir: Path):
    parse_file(block.id, block.body)
    files = {"policies/models/doc.rule": block.body}
    diagnostics, sources = check(workdir, files, True, section_parameters(block))
    assert not errors_of(diagnostics), render_human(diagnostics, sources)


def draft_model(number: int, context: str, expr: str, example: str = "") -> str:
    """A draft model whose `let doc_value` is `expr`, written out in its message."""
    shown = "{doc_value}"
    formatter = FORMATTED.fullmatch(expr)
    if formatter:  # formatters only stand in a message's braces; pct(x, 1) keeps its 1
        name, expr, digits = formatter.groups()
        shown = f"{{{name}(doc_value{digits or ''})}}"
    if re.match(r"first\(\s*from\b", expr):  # a bound row is a row, not a value
        shown = "{exists(doc_value)}"
    return (
        f'model DOC{number:03d} "文档中的第 {number} 个表达式" {{\n'
        "  domain   ENG\n  severity blue\n  status   draft\n"
        f"  {context or 'from ref_township t'}\n"
        f"  let doc_value = {expr}\n"
        f'  key      "doc"\n  township "{TOWNSHIP}"\n'
        f'  message  "{shown}"\n{example}}}\n'
    )


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()]


@pytest.mark.parametrize("block", blocks_of("rule-expr"))
def test_expression_snippet_parses_and_checks(block: Block, workdir: Path):
    exprs = paragraphs(block.body)
    assert exprs, "an empty block"
    for expr in exprs:
        parse_expression(expr, block.id)
    files = {
        f"policies/models/doc{i:03d}.rule": draft_model(i, block.context, expr)
        for i, expr in enumerate(exprs, 1)
    }
    diagnostics, sources = check(workdir, files, parameters=section_parameters(block))
    assert not errors_of(diagnostics), render_human(diagnostics, sources)


def values(body: str) -> Iterator[tuple[str, str]]:
    for line in body.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            expr, arrow, text = line.rpartition("→")
            assert arrow, f"write each line as `EXPR → TEXT`: {line!r}"
            yield expr.strip(), text.strip()


@pytest.mark.parametrize("block", blocks_of("rule-value"))
def test_value_snippet_gives_what_it_says(block: Block, workdir: Path):
    files = {}
    for i, (expr, text) in enumerate(values(block.body), 1):
        parse_expression(expr, block.id)
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        example = (
            f'  example "第 {i} 行" {{\n    as_of 2021-12-31\n'
            f'    given ref_township {{ township: "{TOWNSHIP}", name: "桐君街道" }}\n'
            f'    expect "doc" message "{quoted}"\n  }}\n'
        )
        files[f"policies/models/doc{i:03d}.rule"] = draft_model(i, block.context, expr, example)
    assert files, "an empty block"
    diagnostics, sources = check(workdir, files, parameters=section_parameters(block))
    # W320 (a hole that may be null) is the point of the lines that show how a null reads.
    shown = [d for d in diagnostics if d.code != "W320"]
    assert not shown, render_human(shown, sources)


@pytest.mark.parametrize("block", blocks_of("pack-yaml"))
def test_pack_yaml_snippet_loads_with_the_repositorys_pack(block: Block, workdir: Path):
    policies = make_pack(workdir, {})
    pack_yaml = policies / "pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text(encoding="utf-8") + "\n" + block.body, "utf-8")
    diagnostics = api.check(policies, examples=False).diagnostics
    assert not errors_of(diagnostics), render_human(diagnostics, {})


# ---- deliberate mistakes ---------------------------------------------------------------------


def produce(block: Block, folder: Path, file: str) -> tuple[list[Diagnostic], dict[str, str]]:
    """The diagnostics oversight gives for an error snippet written to `file` (in `folder`)."""
    path = Path(file)
    assert not path.is_absolute(), f"name the file relative to the working directory: {file}"
    if block.kind == "rule-error":
        diagnostics, sources = check(
            folder, {file: block.body}, parameters=section_parameters(block)
        )
        expected = CODE.findall(block.heading)
        if expected and expected[0].startswith("E7") and not errors_of(diagnostics):
            try:
                api.compile_pack(api.load_pack(Path("policies")), "duckdb")
            except DiagnosticError as err:
                diagnostics = [*diagnostics, *err.diagnostics]
        return diagnostics, sources
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.body, encoding="utf-8")
    try:
        if block.kind == "pack-error":
            return api.check(path.parent, examples=False).diagnostics, {}
        pack = load_pack(POLICIES)
        if block.kind == "deployment-error":
            load_deployment(path, pack)
        else:
            load_disposal_file(path, pack)
    except DiagnosticError as err:
        return err.diagnostics, {}
    return [], {}


@pytest.mark.parametrize("block", blocks_of(*ERROR_KINDS))
def test_error_snippet_gives_its_code(block: Block, workdir: Path):
    expected = CODE.findall(block.heading)
    assert expected, f"put an error snippet under a heading that names its code: {block.heading}"
    output = output_after(block)
    printed = PRINTED.match(output.body) if output else None
    file = (printed and printed.group("file")) or DEFAULT_FILES[block.kind]
    diagnostics, sources = produce(block, workdir, file)
    rendered = render_human(diagnostics, sources)
    assert {d.code for d in diagnostics} == {expected[0]}, rendered
    if output is None:
        return
    if UPDATE and output.body != rendered + "\n":
        text = block.doc.read_text(encoding="utf-8")
        fence = list(FENCE.finditer(text))[output.ordinal]  # earlier updates moved its line
        text = text[: fence.start(2)] + rendered + "\n" + text[fence.end(2) :]
        block.doc.write_text(text, encoding="utf-8")
        return
    assert output.body == rendered + "\n", (
        f"{block.id}: oversight now prints this (refresh with OVERSIGHT_UPDATE_GOLDENS=1):\n"
        + rendered
    )


# ---- the example CI workflow -----------------------------------------------------------------


def test_the_ci_workflow_runs_every_step_it_is_said_to():
    workflow = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    assert workflow["jobs"]
    commands = "\n".join(
        str(step.get("run", "")) for job in workflow["jobs"].values() for step in job["steps"]
    )
    for command in (
        "oversight check",
        "oversight fmt --check",
        "oversight compile --all",
        "git diff --exit-code compiled/",
        "oversight check --against",
        "oversight diff --against",
        "--format json",
    ):
        assert command in commands, command
    assert WORKFLOW.name in CI_GUIDE.read_text(encoding="utf-8")
