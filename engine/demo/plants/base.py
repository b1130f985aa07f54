"""The planter: creates the rows of planted cases and records their ground truth as it goes.

Planted rows are plain Python dicts (a few thousand in all); every person,
enterprise, account and id they use comes from ranges the background never
touches, so a planted case is self-contained and the same at every size and
seed. Ground truth is written by the code that plants a case, from the case's
own parameters, never by querying the data.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import TypeVar

from engine.demo import names
from engine.demo.background.core import SEQ_PLANTED
from engine.demo.calendar import MONTH_ENDS, Workdays
from engine.demo.idformats import planted_id
from engine.demo.ids import resident_id, uscc

D = dt.date
YEAR_START = dt.date(2021, 1, 1)
DEFAULT_REGISTERED = dt.date(2012, 5, 18)
YEAR_END = dt.date(2021, 12, 31)

# Township codes in catalog order, for spreading cases around the county.
T = (
    "330122001",
    "330122002",
    "330122003",
    "330122004",
    "330122100",
    "330122101",
    "330122102",
    "330122103",
    "330122104",
    "330122105",
    "330122200",
    "330122201",
    "330122202",
    "330122203",
)
TOWNSHIP_NAMES = dict(
    zip(
        T,
        (
            "桐君街道",
            "旧县街道",
            "城南街道",
            "凤川街道",
            "富春江镇",
            "横村镇",
            "分水镇",
            "瑶琳镇",
            "百江镇",
            "江南镇",
            "莪山畲族乡",
            "钟山乡",
            "新合乡",
            "合村乡",
        ),
        strict=True,
    )
)


def yuan(value: str | int | float | Decimal) -> Decimal:
    """Money in yuan with 2 decimals, exact (strings and ints are exact; floats via str)."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def month_end_of(day: dt.date) -> dt.date | None:
    """The first month-end run of 2021 that sees a row dated ``day`` (None: no 2021 run)."""
    if day > YEAR_END:
        return None
    if day < YEAR_START:
        return MONTH_ENDS[0]
    return MONTH_ENDS[day.month - 1]


def first_month_end(holds: Callable[[dt.date], bool]) -> dt.date | None:
    """The first 2021 month end D for which ``holds(D)`` is true."""
    for d in MONTH_ENDS:
        if holds(d):
            return d
    return None


Part = TypeVar("Part", bound=tuple)


def needed_row(
    first: dt.date | None,
    parts: Sequence[Part],
    holds: Callable[[list[Part], dt.date], bool],
    rows: Sequence[Row],
) -> Row | None:
    """The trigger of a case built of several parts: the row of the part it needs at ``first``.

    Each part is a tuple ending with the day it arrives, planted as ``rows[i]``;
    ``holds(parts, d)`` says whether the case holds as of d with those parts. Of the
    parts visible at ``first``, the last to arrive without which the case does not hold
    then (of a day's parts, the one planted later). None if the case can spare each of
    them: then no single row triggers it.
    """
    if first is None:
        return None
    latest_first = sorted(range(len(parts)), key=lambda i: (parts[i][-1], i), reverse=True)
    for i in latest_first:
        if parts[i][-1] <= first and not holds([*parts[:i], *parts[i + 1 :]], first):
            return rows[i]
    return None


def at(day: dt.date, hh: int = 10, mm: int = 0, ss: int = 0) -> dt.datetime:
    """A timestamp on a day."""
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss)


@dataclass(frozen=True)
class Person:
    """A planted person and where the register puts them."""

    id: str
    name: str
    township: str
    village: str | None
    household_id: str
    male: bool


@dataclass(frozen=True)
class Enterprise:
    """A planted enterprise and the contact details its bids and payments carry."""

    code: str
    name: str
    phone: str
    ip: str
    account: str


Row = tuple[str, dict]
"""A planted row and its source: (source, the row as `Planter.add` returned it)."""


@dataclass(frozen=True)
class Planted:
    """A planted warning: its key, where it is routed, and the first run raising it.

    `trigger` is the row whose arrival makes it fire: without it no run as of
    `first_as_of` raises the warning, so a pre-check of it, as of that day, must
    answer the warning as new (tests/engine/test_precheck_planted.py). None where
    no single row does (the case says why) and for models that take no part in
    pre-checks.
    """

    model: str
    key: str
    township: str
    first_as_of: dt.date
    trigger: Row | None = None


@dataclass(frozen=True)
class NearMiss:
    """A near miss planted beside a model's cases: it must not fire.

    `trigger` is the row that, arriving, comes closest to firing it: a
    pre-check of it must not answer a warning of the model.
    """

    model: str
    description: str
    township: str
    trigger: Row | None = None


@dataclass
class Planter:
    """Collects planted rows per source, the truth and the near misses."""

    workdays: Workdays
    rows: dict[str, list[dict]] = field(default_factory=dict)
    truth: list[Planted] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)
    _counters: dict[str, int] = field(default_factory=dict)
    _seq: dict[tuple[dt.date, bool], int] = field(default_factory=dict)
    _rand: random.Random = field(default_factory=lambda: random.Random(20211231))
    _keys: set[tuple[str, str]] = field(default_factory=set)
    contractors: dict[str, Enterprise] = field(default_factory=dict)

    # ---- bookkeeping ------------------------------------------------------------------------

    def count(self, what: str) -> int:
        """Next number of a planted series (1, 2, ...)."""
        self._counters[what] = self._counters.get(what, 0) + 1
        return self._counters[what]

    def id(self, kind: str) -> str:
        """The next planted id of a table (see idformats)."""
        return planted_id(kind, self.count(f"id:{kind}"))

    def add(self, source: str, **row: object) -> dict:
        """Add one row to a source."""
        self.rows.setdefault(source, []).append(row)
        return row

    def row(self, source: str, **match: object) -> Row:
        """The planted row of `source` whose columns have the values `match` gives (the last such).

        For a trigger: planting helpers return ids, and this finds their row again.
        """
        for row in reversed(self.rows.get(source, ())):
            if all(row.get(column) == value for column, value in match.items()):
                return source, row
        raise KeyError(f"no planted {source} row with {match}")

    def warn(
        self,
        model: str,
        key: str,
        township: str,
        first_as_of: dt.date | None,
        *,
        trigger: Row | None = None,
    ) -> None:
        """Record a planted warning (see Planted).

        The key, where it is routed, the first run raising it, and the row whose
        arrival makes it fire.
        """
        if first_as_of is None or first_as_of not in MONTH_ENDS:
            raise ValueError(f"{model} {key}: first_as_of {first_as_of} is not a 2021 month end")
        if township not in T:
            raise ValueError(f"{model} {key}: unknown township {township}")
        if (model, key) in self._keys:
            raise ValueError(f"{model} {key}: planted twice")
        self._keys.add((model, key))
        self.truth.append(Planted(model, key, township, first_as_of, trigger))

    def warn_held(
        self,
        model: str,
        key: str,
        township: str,
        parts: Sequence[Part],
        holds: Callable[[list[Part], dt.date], bool],
        rows: Sequence[Row],
        first_as_of: dt.date | None = None,
    ) -> None:
        """Record a warning built of several parts (see needed_row for parts, holds, rows).

        It is first raised at the first month end where it holds, unless the case gives
        ``first_as_of``, and triggered by the part it needs then.
        """
        first = first_as_of or first_month_end(partial(holds, parts))
        self.warn(model, key, township, first, trigger=needed_row(first, parts, holds, rows))

    def near(
        self, model: str, description: str, township: str, *, trigger: Row | None = None
    ) -> None:
        """Record a near miss planted beside a model's cases: it must not fire (see NearMiss)."""
        self.near_misses.append(NearMiss(model, description, township, trigger))

    # ---- people -----------------------------------------------------------------------------

    def name(self, male: bool) -> str:
        """A plausible name (the planter's own stream, independent of the seed)."""
        surname = self._rand.choice(names.SURNAMES[:40])
        given = self._rand.choice(names.MALE_GIVEN if male else names.FEMALE_GIVEN)
        return surname + given

    def village(self, township: str, k: int = 0) -> str:
        """The k-th village of a township (cycling)."""
        vs = names.VILLAGES[township]
        return vs[k % len(vs)]

    def person(
        self,
        township: str,
        village: str | None = None,
        *,
        name: str | None = None,
        male: bool | None = None,
        birth: dt.date | None = None,
        registration: str | None = "农业",
        register: bool = True,
        household_id: str | None = None,
        moved_in_on: dt.date | None = None,
        moved_out_on: dt.date | None = None,
        register_name: str | None = None,
        register_township: str | None = None,
        register_village: str | None = None,
    ) -> Person:
        """A new person with a valid resident id, optionally in the household register."""
        k = self.count("person")
        if male is None:
            male = k % 3 != 0
        if birth is None:
            birth = D(1952, 3, 1) + dt.timedelta(days=(k * 211) % 15_000)
        lo, hi = SEQ_PLANTED
        slot = self._seq.get((birth, male), 0)
        self._seq[(birth, male)] = slot + 1
        seq = lo + 2 * slot + (1 if male else 0)
        if seq >= hi:
            raise RuntimeError("planted person id space exhausted for a birth date")
        pid = resident_id("330122", birth, seq)
        if village is None:
            village = self.village(township, k)
        if household_id is None:
            household_id = f"{township}9{self.count('household'):06d}"
        pname = name or self.name(male)
        if register:
            self.add(
                "ps_household",
                person_id=pid,
                name=register_name or pname,
                household_id=household_id,
                township=register_township or township,
                village=register_village if register_village is not None else village,
                registration_type=registration,
                moved_in_on=moved_in_on,
                moved_out_on=moved_out_on,
            )
        return Person(pid, pname, township, village, household_id, male)

    def official(
        self,
        township: str,
        *,
        also: tuple[str, ...] = (),
        position: str = "科员",
        unit: str = "党政综合办公室",
        leader: bool = False,
        village: str | None = None,
        registration: str = "居民",
    ) -> Person:
        """A new official of a township (``also``: earlier postings, each its own row)."""
        p = self.person(township, village, registration=registration, birth=None)
        self.add(
            "sup_official",
            person_id=p.id,
            name=p.name,
            township=township,
            unit=unit,
            position=position,
            is_leader=leader,
            start_on=D(2018, 3, 1),
            end_on=None,
        )
        for i, other in enumerate(also):
            self.add(
                "sup_official",
                person_id=p.id,
                name=p.name,
                township=other,
                unit=names.UNITS[(i + 3) % len(names.UNITS)],
                position="科员",
                is_leader=False,
                start_on=D(2012, 7, 1),
                end_on=D(2018, 2, 28),
            )
        return p

    def relative(
        self,
        official: Person,
        relation: str,
        *,
        township: str | None = None,
        village: str | None = None,
        registration: str = "农业",
        register: bool = True,
        name: str | None = None,
        male: bool | None = None,
    ) -> Person:
        """A new relative of an official, recorded in sup_kinship."""
        p = self.person(
            township or official.township,
            village,
            registration=registration,
            register=register,
            name=name,
            male=male,
        )
        self.add("sup_kinship", official_id=official.id, relative_id=p.id, relation=relation)
        return p

    def circle_member(
        self,
        town: str,
        how: str,
        *,
        serving_in: str,
        lives_in: str,
        transfer_relation: str = "配偶",
        registration: str = "居民",
        unit: str = "党政综合办公室",
    ) -> Person:
        """A new person of ``town``'s official circle, as a case's ``how`` puts them there.

        "self": an official of ``town`` (``registration`` and ``unit`` as the case
        wants); "transfer": a relative (``transfer_relation``, living in ``lives_in``)
        of an official now serving in ``serving_in`` who once served in ``town``;
        any other ``how`` is a relation: that relative of a new official of ``town``.
        """
        if how == "self":
            return self.official(town, registration=registration, unit=unit)
        if how == "transfer":
            official = self.official(serving_in, also=(town,))
            return self.relative(official, transfer_relation, township=lives_in)
        return self.relative(self.official(town), how)

    # ---- enterprises ------------------------------------------------------------------------

    def enterprise(
        self,
        *,
        legal_rep: Person | None = None,
        shareholders: tuple[tuple[Person, str], ...] = (),
        registered_on: dt.date = DEFAULT_REGISTERED,
        status: str = "存续",
        status_changed_on: dt.date | None = None,
        construction: bool = True,
        rep_is_shareholder: bool = True,
        name: str | None = None,
        township: str = "330122001",
    ) -> Enterprise:
        """A new enterprise with its own persons (new ones unless given)."""
        k = self.count("enterprise")
        body = f"MA7{_base31(k, 5)}"
        code = uscc("91", "330122", body)
        if name is None:
            brand = "".join(self._rand.choice(names.BRAND_CHARS) for _ in range(2))
            suffix = self._rand.choice(
                names.CONSTRUCTION_SUFFIXES if construction else names.OTHER_SUFFIXES
            )
            name = f"桐庐县{brand}{suffix}"
        if legal_rep is None:
            legal_rep = self.person(township, register=False)
        ent = Enterprise(
            code=code,
            name=name,
            phone=f"0571-8{k:07d}",
            ip=f"218.108.{k // 250}.{k % 250 + 1}",
            account=f"33010401609{k:08d}",
        )
        self.add(
            "mkt_enterprise",
            enterprise_code=code,
            name=name,
            legal_rep_name=legal_rep.name,
            legal_rep_id=legal_rep.id,
            registered_on=registered_on,
            registered_capital=yuan(1_000_000 * (1 + k % 5)),
            status=status,
            status_changed_on=status_changed_on,
            address=(
                f"浙江省杭州市桐庐县{TOWNSHIP_NAMES[township]}"
                f"{names.STREETS[k % len(names.STREETS)]}{k % 200 + 1}号"
            ),
            phone=ent.phone,
        )
        if rep_is_shareholder:
            self.add(
                "mkt_shareholder",
                enterprise_code=code,
                person_name=legal_rep.name,
                person_id=legal_rep.id,
                role="股东",
                share_ratio=60.0,
            )
        for person, role in shareholders:
            self.add(
                "mkt_shareholder",
                enterprise_code=code,
                person_name=person.name,
                person_id=person.id,
                role=role,
                share_ratio=40.0 if role == "股东" else None,
            )
        return ent

    def enterprise_of(
        self, person: Person, role: str, *, township: str, construction: bool = True
    ) -> Enterprise:
        """A new enterprise in which ``person`` is legal rep (``role`` "rep") or holds ``role``."""
        if role == "rep":
            return self.enterprise(legal_rep=person, construction=construction, township=township)
        return self.enterprise(
            shareholders=((person, role),), construction=construction, township=township
        )

    def card(self) -> str:
        """A new personal debit card number (planted range)."""
        return f"6230919{self.count('card'):012d}"


def _base31(k: int, width: int) -> str:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    out = []
    for _ in range(width):
        out.append(charset[k % 31])
        k //= 31
    return "".join(reversed(out))
