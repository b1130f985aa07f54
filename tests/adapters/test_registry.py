"""`adapters.connect` finds an adapter by the URL's scheme, and no adapter module needs another.

adapters/base.py (the interface and its errors) imports no adapter, only the
redaction its errors' messages go through; each adapter imports only base and names;
adapters/registry.py names the adapters as strings and imports one only when a URL of
its scheme is opened (and passwords.py, which puts a password into the URL to open).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import adapters
from adapters import WarehouseUnreachable, connect
from adapters.registry import ADAPTERS, opener

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(f"adapters.{p.stem}" for p in (ROOT / "adapters").glob("*.py"))
NO_DRIVER = {
    "adapters.base",
    "adapters.registry",
    "adapters.names",
    "adapters.passwords",
    "adapters.redaction",
}
"""The modules that are no adapter: importing one loads no adapter and no driver."""


def imported_by(module: str) -> set[str]:
    """The adapters modules `module` imports anywhere in it, functions included."""
    path = ROOT / (module.replace(".", "/") + ".py")
    if module == "adapters":
        path = ROOT / "adapters" / "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found |= {n for n in names if n in [*MODULES, "adapters"]}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in [*MODULES, "adapters"]}
    return found - {module}


def test_no_adapter_module_imports_the_package_or_another_adapter():
    assert imported_by("adapters.base") == {"adapters.redaction"}
    assert imported_by("adapters.names") == set()
    assert imported_by("adapters.redaction") == set()
    assert imported_by("adapters.passwords") == {"adapters.base", "adapters.redaction"}
    for adapter in ("adapters.duckdb", "adapters.adbc", "adapters.spark"):
        assert imported_by(adapter) <= {"adapters.base", "adapters.names"}, adapter
    assert imported_by("adapters.registry") == {"adapters.base", "adapters.passwords"}


def test_the_modules_import_each_other_without_a_cycle():
    graph = {module: imported_by(module) for module in [*MODULES, "adapters"]}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for imported in graph[module]:
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str):
    # and importing base or the registry loads no adapter, nor the drivers behind them
    check = (
        f"import json, sys, {module}\n"
        "watched = ('adapters', 'duckdb', 'pyspark', 'adbc_driver_sqlite',"
        " 'adbc_driver_postgresql')\n"
        "print(json.dumps([m for m in sys.modules if m.split('.')[0] in watched]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    if module in NO_DRIVER:
        assert loaded <= {"adapters", *NO_DRIVER}


def test_every_scheme_names_a_function_that_opens_it():
    for scheme in ADAPTERS:
        assert callable(opener(f"{scheme}://somewhere")), scheme
    assert opener("adbc+flightsql://host?dialect=duckdb") is opener("adbc://x")


def test_connect_is_the_registry_s():
    assert adapters.connect is connect
    assert connect.__module__ == "adapters.registry"


def test_an_unknown_scheme_is_refused_clearly():
    with pytest.raises(WarehouseUnreachable) as raised:
        connect("mysql://somewhere/county")
    assert raised.value.message_zh == "不支持的数据仓库地址「mysql://somewhere/county」"
    assert raised.value.message_en.startswith(
        "unsupported warehouse URL 'mysql://somewhere/county'"
    )
