"""Shared state of the background generator: sizes, random streams, townships, the calendar."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from engine.demo.arrowkit import day
from engine.demo.calendar import Workdays
from engine.demo.catalog import Catalog
from engine.demo.names import TOWNSHIP_WEIGHTS, VILLAGES

# Background driver counts at size 1; every bulk table scales with ``size``.
BASE_COUNTS: dict[str, int] = {
    "households": 34_500,
    "officials": 1_400,
    "enterprises": 6_000,
    "projects": 480,
    "funds": 400,
    "subsidy_monthly_recipients": 7_000,
    "subsidy_annual_rows": 40_000,
    "goods_payments": 55_000,
    "deaths": 900,
    "assistance": 4_000,
    "vehicles": 24_000,
    "applications": 2_400,
    "assets": 3_000,
    "agreements": 180,
    "bank_accounts": 20_000,
    "bank_txns": 150_000,
    "vouchers": 24_000,
    "receptions": 5_000,
    "other_decisions": 1_300,
}

YEAR_START = day("2021-01-01")
YEAR_END = day("2021-12-31")

# Seq ranges (3 digits before the check digit) that keep the person pools disjoint by
# construction: a background person can never be an official or an official's relative,
# so no random row can put the official circle where a model looks for it.
SEQ_GENERAL = (0, 700)
SEQ_ENTERPRISE = (700, 850)
SEQ_OFFICIAL = (850, 900)
SEQ_RELATIVE = (900, 950)
SEQ_PLANTED = (950, 1000)

HOME_REGION = 330122
OTHER_REGIONS = (330127, 330182, 330183, 330106, 330102, 330185, 330110, 330109)


@dataclass
class Core:
    """Sizes, seeded streams and the county's fixed geography."""

    catalog: Catalog
    size: float
    seed: int
    workdays: Workdays = field(default_factory=Workdays.build)

    def __post_init__(self) -> None:
        self.township_codes = [t.code for t in self.catalog.townships]
        self.township_names = [t.name for t in self.catalog.townships]
        self.township_kinds = [t.kind for t in self.catalog.townships]
        w = np.array([TOWNSHIP_WEIGHTS.get(c, 5) for c in self.township_codes], dtype=float)
        self.township_p = w / w.sum()
        vt, vn = [], []
        for ti, code in enumerate(self.township_codes):
            names = VILLAGES.get(code) or (f"{self.township_names[ti]}一村",)
            for v in names:
                vt.append(ti)
                vn.append(v)
        self.village_township = np.array(vt, dtype=np.int64)
        self.village_names = vn
        self.village_is_community = np.array([v.endswith("社区") for v in vn])
        starts = np.searchsorted(self.village_township, np.arange(len(self.township_codes)))
        ends = np.searchsorted(self.village_township, np.arange(len(self.township_codes)), "right")
        self.village_start = starts
        self.village_count = ends - starts

    def n(self, what: str) -> int:
        """Background count of a driver at this size (at least 1)."""
        return max(1, round(BASE_COUNTS[what] * self.size))

    def rng(self, stream: str) -> np.random.Generator:
        """An independent, reproducible random stream per purpose.

        Streams are keyed by name, so adding a column to one table does not
        shift the random numbers of any other table.
        """
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode("utf-8"))])

    def townships(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Township indexes drawn by population weight."""
        return rng.choice(len(self.township_codes), size=n, p=self.township_p)

    def villages_in(self, rng: np.random.Generator, township_idx: np.ndarray) -> np.ndarray:
        """A random village index inside each given township."""
        u = rng.random(township_idx.shape[0])
        return self.village_start[township_idx] + (u * self.village_count[township_idx]).astype(
            np.int64
        )

    def days_between(self, rng: np.random.Generator, n: int, first: str, last: str) -> np.ndarray:
        """Uniform random days in [first, last]."""
        a, b = day(first), day(last)
        return rng.integers(a, b + 1, size=n)

    def workday_on_or_after(self, days: np.ndarray) -> np.ndarray:
        """Move each day forward to the next workday (the same day if it is one)."""
        w = self.workdays
        index = days - 1 - w.first
        if index.size and index.min() < 0:
            raise ValueError("workday_on_or_after needs days after the calendar's first day")
        return w.workday_numbers[w.cumulative[index]]
