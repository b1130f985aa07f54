"""Files replaced in one step: what readers see, and the permissions they are left with."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.runs.atomic import replace_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_file_gets_what_creating_it_would_give(tmp_path: Path, umask_022):
    # A report or a draft is opened by others: not the temporary file's 0600.
    report = tmp_path / "廉情报告-2021.html"
    replace_file(report, lambda out: out.write(b"<html>"))
    assert report.read_bytes() == b"<html>"
    assert mode(report) == 0o644


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path, umask_022):
    rule = tmp_path / "ENG01.rule"
    rule.write_text("old", encoding="utf-8")
    rule.chmod(0o640)
    replace_file(rule, lambda out: out.write(b"new"))
    assert rule.read_text(encoding="utf-8") == "new"
    assert mode(rule) == 0o640


def test_a_mode_given_is_the_mode_set(tmp_path: Path, umask_022):
    private = tmp_path / "warnings.parquet"
    replace_file(private, lambda out: out.write(b"x"), 0o600)
    assert mode(private) == 0o600


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    target = tmp_path / "通报_2021.md"
    target.write_text("old", encoding="utf-8")

    def fail(out) -> None:
        out.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_file(target, fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["通报_2021.md"]
