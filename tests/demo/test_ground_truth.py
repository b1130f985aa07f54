"""The demo's month-end runs find exactly what the generator planted: per model, none missed,
none extra, each routed to the township of the first run that raised it.

CI runs it at a reduced size; the full size is one command:

    OVERSIGHT_DEMO_SIZE=1 python3 -m pytest tests/demo/test_ground_truth.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import api
from engine.demo import demo_run
from engine.demo.generator import generate

SIZE = float(os.environ.get("OVERSIGHT_DEMO_SIZE", "0.05"))
SEEDS = (2021, 7)
ROOT = Path(__file__).resolve().parents[2]
MODEL_IDS = sorted(p.stem for p in (ROOT / "policies" / "models").rglob("*.rule"))


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: f"seed{seed}")
def found_and_planted(request, tmp_path_factory):
    pack = api.load_pack(ROOT / "policies")
    county = generate(size=SIZE, seed=request.param)
    url = f"duckdb:///{tmp_path_factory.mktemp('demo') / 'demo.duckdb'}"
    demo_run.build_warehouse(url, county)
    warnings, failures = demo_run.run_month_ends(pack, url)
    assert failures == []
    found = {(w["model_id"], w["warning_key"]): w for w in warnings.to_pylist()}
    planted = {(t["model_id"], t["warning_key"]): t for t in county.truth.to_pylist()}
    return found, planted


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_the_model_finds_exactly_what_was_planted(found_and_planted, model_id: str):
    found, planted = found_and_planted
    found_keys = {k for (m, k) in found if m == model_id}
    planted_keys = {k for (m, k) in planted if m == model_id}
    assert planted_keys, "the generator plants every model"
    assert {"missed": planted_keys - found_keys, "extra": found_keys - planted_keys} == {
        "missed": set(),
        "extra": set(),
    }
    for key in planted_keys:
        warning, truth = found[(model_id, key)], planted[(model_id, key)]
        assert (warning["township"], warning["issued_on"]) == (
            truth["township"],
            truth["first_as_of"],
        )


def test_hundreds_of_warnings_from_the_whole_county(found_and_planted):
    found, planted = found_and_planted
    assert len(found) == len(planted) >= 300
