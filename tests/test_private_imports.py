"""No module reaches into another module's private (`_x`) names.

A leading underscore says "only this module uses it", so it can be changed
without looking elsewhere; a name that another module needs is public,
documented for the reason it is needed. This reads every Python file of the
project with the `ast` module and lists each place that breaks that:

- `from X import _name`;
- `module._name`, where `module` is a module the file imported (not `self`,
  `cls` or any other object; dunders and a namedtuple's `_replace`,
  `_asdict`, `_fields`, `_make` are public);
- `setattr(module, "_name", …)` and `monkeypatch.setattr`/`getattr` alike, and
  a dotted string naming one (`"engine.cli._on_terminal"`), the ways tests
  patch a private name.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("dsl", "engine", "adapters", "tests", "benchmarks")
OURS = ("dsl", "engine", "adapters", "tests", "benchmarks", "report")

# Public although underscored: namedtuple's methods, and the standard library's documented
# `os._exit` (leave without unwinding, as a forked child must) and `sys._getframe`.
PUBLIC = {"_replace", "_asdict", "_fields", "_make", "_field_defaults"}
DOCUMENTED = {("os", "_exit"), ("sys", "_getframe")}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):
        return False


def _dotted(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of attributes on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _modules(tree: ast.Module) -> dict[str, str]:
    """Names in a file that stand for a module (as written there), each with the module."""
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = alias.name
                else:
                    parts = alias.name.split(".")
                    for i in range(1, len(parts) + 1):
                        found[".".join(parts[:i])] = ".".join(parts[:i])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if _is_module(f"{node.module}.{alias.name}"):
                    found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def _findings(path: Path, root: Path = ROOT) -> list[str]:
    shown = path.relative_to(root).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    modules = _modules(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{shown}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in PUBLIC:
            owner = _dotted(node.value)
            module = modules.get(owner or "")
            if module and (module, node.attr) not in DOCUMENTED:
                found.append(f"{shown}: {owner}.{node.attr}")
        elif isinstance(node, ast.Call):
            found += _patched(shown, node, modules)
    return found


def _patched(shown: str, call: ast.Call, modules: dict[str, str]) -> list[str]:
    """Private names a call sets or reads by name: setattr(module, "_x"), "module._x"."""
    name = _dotted(call.func) or ""
    if not name.endswith(("setattr", "getattr", "delattr", "patch", "patch.object")):
        return []
    found = []
    args = call.args
    if (
        len(args) >= 2
        and isinstance(args[1], ast.Constant)
        and isinstance(args[1].value, str)
        and _private(args[1].value)
        and modules.get(_dotted(args[0]) or "")
    ):
        found.append(f"{shown}: {name}({_dotted(args[0])}, {args[1].value!r})")
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        *owner, last = args[0].value.split(".")
        if owner and owner[0] in OURS and _private(last):
            found.append(f"{shown}: {name}({args[0].value!r})")
    return found


def _python_files() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def test_no_module_uses_another_modules_private_names():
    found = sorted(f for path in _python_files() for f in _findings(path))
    assert found == [], "\n".join(found)


def test_the_check_sees_each_way_of_reaching_in(tmp_path: Path):
    """Every form above is found, and what is public is not."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "import engine.policy.params\n"
        "from dsl import format as fmt\n"
        "from dsl.parser import _unquote, parse_file\n"
        "engine.policy.params._verify\n"
        "fmt._width('x')\n"
        "monkeypatch.setattr(fmt, '_width', len)\n"
        "monkeypatch.setattr('engine.cli._on_terminal', len)\n"
        "self._private\n"
        "row._replace(a=1)\n"
        "os._exit(0)\n"
        "fmt.__name__\n"
        "parse_file\n",
        encoding="utf-8",
    )
    assert sorted(_findings(sample, tmp_path)) == [
        "sample.py: engine.policy.params._verify",
        "sample.py: fmt._width",
        "sample.py: from dsl.parser import _unquote",
        "sample.py: monkeypatch.setattr('engine.cli._on_terminal')",
        "sample.py: monkeypatch.setattr(fmt, '_width')",
    ]
