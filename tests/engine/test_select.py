"""--select picks models by id, domain, severity or status; drafts and deprecated ones wait."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import api
from engine.runs.run import UnknownSelector, select_models

ROOT = Path(__file__).resolve().parents[2]


def ids(pack, *selectors: str) -> list[str]:
    return [m.id for m in select_models(pack, selectors)]


def test_by_id_domain_and_severity(pack):
    assert ids(pack, "ENG01") == ["ENG01"]
    assert ids(pack, "工程管理") == ids(pack, "ENG") == [f"ENG0{i}" for i in range(1, 9)]
    assert set(ids(pack, "blue")) == {"AST04", "FIN02", "FUN05", "HOU04"}
    assert len(ids(pack)) == 35


def test_draft_and_deprecated_models_run_only_when_picked(tmp_path: Path):
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    for model_id, status in (("FIN01", "draft"), ("FIN02", "deprecated")):
        rule = next((tmp_path / "policies").rglob(f"{model_id}.rule"))
        text = rule.read_text(encoding="utf-8")
        rule.write_text(text.replace("  severity", f"  status {status}\n  severity", 1), "utf-8")
    pack = api.load_pack(tmp_path / "policies")
    every = ids(pack)
    assert "FIN01" not in every and "FIN02" not in every and len(every) == 33
    assert ids(pack, "draft") == ["FIN01"]
    assert ids(pack, "deprecated") == ["FIN02"]
    assert ids(pack, "FIN02") == ["FIN02"]
    assert "FIN01" not in ids(pack, "FIN")


def test_chinese_names_of_severities_and_statuses_select_too(pack):
    assert ids(pack, "红色") == ids(pack, "red")
    assert ids(pack, "启用") == ids(pack) and ids(pack, "草稿") == []


def test_a_name_that_selects_nothing_is_refused_with_the_closest(pack):
    with pytest.raises(UnknownSelector) as raised:
        ids(pack, "ENG01", "FUN6")
    assert (raised.value.name, raised.value.suggestion) == ("FUN6", "FUN06")
    with pytest.raises(UnknownSelector) as raised:
        ids(pack, "Red")
    assert raised.value.suggestion == "red"
