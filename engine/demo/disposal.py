"""sup_disposal: how the commission's verification of the planted warnings went.

Keyed by (model_id, warning_key) of the ground truth, so the integrity index has
real verification, confirmation, rectification and disposal rates to work
with. Totals follow the article: six persons dealt with, 104,800 yuan recovered.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np

from engine.demo.plants.base import Planted

PERSONS_DISPOSED_TOTAL = 6
FUNDS_RECOVERED_TOTAL = Decimal("104800.00")
# Models whose findings can bring money back.
MONEY_MODELS = ("ENG06", "FUN01", "FUN02", "FUN03", "FUN04", "FIN03", "FIN05", "INV01", "INV02")


def disposal_rows(truth: list[Planted], seed: int) -> list[dict]:
    """Verification records for most truth rows (about one in eight is not verified yet)."""
    rng = np.random.default_rng([seed, 0xD15])
    ordered = sorted(truth, key=lambda t: (t.first_as_of, t.model, t.key))
    rows: list[dict] = []
    for planted in ordered:
        model, key, first = planted.model, planted.key, planted.first_as_of
        if rng.random() < 0.12:
            continue
        verified = first + dt.timedelta(days=int(rng.integers(5, 41)))
        u = rng.random()
        outcome = "属实" if u < 0.55 else "部分属实" if u < 0.75 else "不属实"
        rectified = None
        if outcome != "不属实" and rng.random() < 0.75:
            rectified = verified + dt.timedelta(days=int(rng.integers(10, 61)))
        rows.append(
            {
                "model_id": model,
                "warning_key": key,
                "verified_on": verified,
                "outcome": outcome,
                "rectified_on": rectified,
                "persons_disposed": 0,
                "funds_recovered": None,
            }
        )
    confirmed = [i for i, r in enumerate(rows) if r["outcome"] != "不属实"]
    if confirmed:
        for i in rng.choice(
            confirmed, size=min(PERSONS_DISPOSED_TOTAL, len(confirmed)), replace=False
        ):
            rows[int(i)]["persons_disposed"] = 1
    money = [i for i in confirmed if rows[i]["model_id"] in MONEY_MODELS]
    if money:
        picked = sorted(int(i) for i in rng.choice(money, size=min(8, len(money)), replace=False))
        weights = rng.random(len(picked)) + 0.5
        cents = np.floor(weights / weights.sum() * int(FUNDS_RECOVERED_TOTAL * 100)).astype(int)
        cents[0] += int(FUNDS_RECOVERED_TOTAL * 100) - int(cents.sum())
        for i, c in zip(picked, cents, strict=True):
            rows[i]["funds_recovered"] = (Decimal(int(c)) / 100).quantize(Decimal("0.01"))
    return rows
