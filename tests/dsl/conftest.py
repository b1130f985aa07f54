"""Fixtures for the language's own tests: a pack holding one bad rule file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PackBuilder = Callable[[Path], Path]


@pytest.fixture
def pack_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackBuilder:
    """Build a pack of the repository's pack.yaml and shared definitions plus one rule file.

    The working directory becomes the pack's parent, and the returned path is
    relative, so that diagnostics name the file `pack/models/NAME.rule` on
    every machine.
    """

    def build(rule: Path) -> Path:
        pack = tmp_path / "pack"
        pack.mkdir()
        shutil.copy(ROOT / "policies" / "pack.yaml", pack / "pack.yaml")
        shutil.copytree(ROOT / "policies" / "shared", pack / "shared")
        (pack / "models").mkdir()
        shutil.copy(rule, pack / "models" / rule.name)
        monkeypatch.chdir(tmp_path)
        return Path("pack")

    return build
