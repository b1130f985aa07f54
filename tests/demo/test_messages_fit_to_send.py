"""Every message of the demo county reads as a person would write it to a township.

The demo plants several cases of every model (tests/demo/test_ground_truth.py),
with the dirty data departments send: names that already begin with the
township's name, assistance whose kind is 临时救助 and that has no monthly
amount, agreements that cannot be found, payments a fen over a limit. Each
model runs at every month end of 2021 (as `oversight demo` does), and every
message of every run is read for the faults issue 13 found in them:

- a word written twice in a row: "临时救助救助", "“高龄补贴”补贴",
  "旧县街道旧县街道污水管网延伸工程". A run of two or more Chinese characters
  followed at once by itself, quotation marks left out. Repeats of one
  character are left alone: they are ordinary words and names (姚村村, 人人);
- a null written as 空 ("每月空元", "协议签订日期：空"): every hole without a
  default (`{x ?? '文字'}`) must have had a value, which the warning's
  evidence records;
- an amount in 万元 with more than two decimals ("9.999999万元",
  "超出0.00005万元"), or in 元 with more than two.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from adapters import connect
from dsl import ir
from engine import api
from engine.demo import demo_run
from engine.demo.generator import MONTH_ENDS
from engine.runs.run import run_models

ROOT = Path(__file__).resolve().parents[2]
QUOTES = re.compile("[“”‘’「」\"']")
DOUBLED = re.compile(r"([\u4e00-\u9fff]{2,})\1")
TOO_PRECISE = re.compile(r"-?\d+\.\d{3,}万?元")


@pytest.fixture(scope="module")
def messages(small_county, tmp_path_factory) -> list[dict]:
    """Every warning of every month-end run of the demo county: model, message, evidence."""
    url = f"duckdb:///{tmp_path_factory.mktemp('messages') / 'demo.duckdb'}"
    demo_run.build_warehouse(url, small_county)
    pack = api.load_pack(ROOT / "policies")
    warehouse = connect(url, must_exist=True)
    try:
        found = []
        for day in MONTH_ENDS:
            result = run_models(pack, warehouse, day)
            assert result.failed == []
            found += result.warnings.select(["model_id", "message", "evidence"]).to_pylist()
    finally:
        warehouse.close()
    return found


def test_every_model_is_read(messages):
    models = {p.stem for p in (ROOT / "policies" / "models").rglob("*.rule")}
    assert {m["model_id"] for m in messages} == models
    assert len({m["message"] for m in messages}) >= 300


def test_no_word_is_written_twice_in_a_row(messages):
    doubled = {
        (m["model_id"], found.group(0))
        for m in messages
        for found in DOUBLED.finditer(QUOTES.sub("", m["message"]))
    }
    assert doubled == set()


def test_no_hole_writes_a_null_as_kong(messages):
    pack = api.load_pack(ROOT / "policies")
    written_null = set()
    for m in messages:
        evidence = json.loads(m["evidence"])
        for hole in pack.models[m["model_id"]].message:
            if isinstance(hole, ir.Hole) and hole.default is None and evidence[hole.text] is None:
                written_null.add((m["model_id"], hole.text))
    assert written_null == set()


def test_amounts_have_at_most_two_decimals(messages):
    precise = {
        (m["model_id"], found) for m in messages for found in TOO_PRECISE.findall(m["message"])
    }
    assert precise == set()


def test_the_patterns_find_what_issue_13_found():
    """The checks above would have failed on the messages the issue quotes."""
    assert DOUBLED.search("自2021-05-12起享受临时救助救助（案号JZ9000000002，每月空元）")
    assert DOUBLED.search(QUOTES.sub("", "其后仍有2笔“重度残疾人护理补贴”补贴发放至其名下"))
    assert DOUBLED.search("投资额为1500万元的旧县街道旧县街道污水管网延伸工程")
    assert not DOUBLED.search("瑶琳镇姚村村集体厂房")
    assert TOO_PRECISE.findall("提取现金9.999999万元，超出0.00005万元，合计14999.97元") == [
        "9.999999万元",
        "0.00005万元",
    ]
