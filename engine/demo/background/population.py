"""The people and enterprises of the demo county, as disjoint pools.

Four pools of person ids never overlap (the id's sequence digits keep them
apart): the general population, the persons of enterprises, officials, and
officials' relatives. Models that look for the official circle, or for persons
shared between enterprises, therefore find nothing in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from engine.demo import names
from engine.demo.arrowkit import day, join, numbered, pick, yyyymmdd
from engine.demo.background.core import (
    HOME_REGION,
    OTHER_REGIONS,
    SEQ_ENTERPRISE,
    SEQ_GENERAL,
    SEQ_OFFICIAL,
    SEQ_RELATIVE,
    Core,
)
from engine.demo.ids import digits_matrix, resident_id_array, uscc_array

REGIONS = np.array((HOME_REGION, *OTHER_REGIONS), dtype=np.int64)


def allocate_person_ids(
    rng: np.random.Generator,
    birth: np.ndarray,
    male: np.ndarray,
    seq_range: tuple[int, int],
    home_share: float = 0.92,
) -> pa.Array:
    """Unique resident ids for a pool, with the gender digit right and seqs inside the range.

    Persons are grouped by (region, birth date, gender) and numbered within the
    group; a group that would overflow the pool's range spills into the next
    region code, so ids stay unique at any size.
    """
    n = birth.shape[0]
    region_idx = np.where(
        rng.random(n) < home_share, 0, rng.integers(1, len(REGIONS), size=n)
    ).astype(np.int64)
    lo, hi = seq_range
    capacity = (hi - lo) // 2
    for _ in range(len(REGIONS)):
        key = (region_idx * 200_000 + (birth + 50_000)) * 2 + male
        order = np.argsort(key, kind="stable")
        k_sorted = key[order]
        starts = np.r_[0, np.flatnonzero(np.diff(k_sorted)) + 1]
        group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - group_start
        over = rank >= capacity
        if not over.any():
            break
        # Spill the overflow of a crowded birth date into the next region code.
        region_idx[over] = (region_idx[over] + 1) % len(REGIONS)
    else:  # pragma: no cover - needs tens of millions of people born on one day
        raise RuntimeError("person id space exhausted")
    seq = lo + 2 * rank + male.astype(np.int64)
    return resident_id_array(REGIONS[region_idx], yyyymmdd(birth), seq)


@dataclass
class People:
    """A pool of persons: ids, names (and a second spelling), gender, birth."""

    ids: pa.Array
    names: pa.Array
    variant_names: pa.Array
    male: np.ndarray
    birth: np.ndarray

    def __len__(self) -> int:
        return len(self.male)


def make_names(
    rng: np.random.Generator, male: np.ndarray, surname_idx: np.ndarray | None = None
) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """Surname + given name by gender; also the homophone spelling other sources use."""
    n = male.shape[0]
    if surname_idx is None:
        p = np.asarray(names.SURNAME_WEIGHTS)
        surname_idx = rng.choice(len(names.SURNAMES), size=n, p=p / p.sum())
    given_vocab = list(names.MALE_GIVEN) + list(names.FEMALE_GIVEN)
    g = np.where(
        male,
        rng.integers(0, len(names.MALE_GIVEN), size=n),
        len(names.MALE_GIVEN) + rng.integers(0, len(names.FEMALE_GIVEN), size=n),
    )
    variants = [names.variant_spelling(x) for x in given_vocab]
    surnames = pick(names.SURNAMES, surname_idx)
    return (
        join(surnames, pick(given_vocab, g)),
        join(surnames, pick(variants, g)),
        surname_idx,
    )


def make_people(
    core: Core,
    stream: str,
    n: int,
    birth_first: str,
    birth_last: str,
    seq_range: tuple[int, int],
    male_share: float = 0.5,
) -> People:
    """A pool of n adults or residents born in a range."""
    rng = core.rng(stream)
    birth = rng.integers(day(birth_first), day(birth_last) + 1, size=n)
    male = rng.random(n) < male_share
    nm, var, _ = make_names(rng, male)
    ids = allocate_person_ids(rng, birth, male, seq_range)
    return People(ids=ids, names=nm, variant_names=var, male=male, birth=birth)


@dataclass
class Residents:
    """The household register's general population, grouped into households."""

    people: People
    household: np.ndarray  # household index per person
    role: np.ndarray  # 0 head, 1 spouse, 2+ others
    township: np.ndarray
    village: np.ndarray
    household_ids: pa.Array  # per household
    household_township: np.ndarray
    household_village: np.ndarray
    household_head: np.ndarray  # person index of the head
    registration: np.ndarray  # 0 农业 1 非农业 2 居民
    moved_in: np.ndarray  # day or -1
    moved_out: np.ndarray  # day or -1
    village_null: np.ndarray


REGISTRATION_TYPES = ("农业", "非农业", "居民")


def make_residents(core: Core) -> Residents:
    """Households and their members, living in the villages of the 14 townships."""
    rng = core.rng("residents")
    nh = core.n("households")
    h_town = core.townships(rng, nh)
    h_village = core.villages_in(rng, h_town)
    h_size = rng.choice(np.arange(1, 7), size=nh, p=[0.14, 0.26, 0.25, 0.2, 0.1, 0.05])
    n = int(h_size.sum())
    household = np.repeat(np.arange(nh), h_size)
    starts = np.r_[0, np.cumsum(h_size)[:-1]]
    role = np.arange(n) - np.repeat(starts, h_size)
    head_birth = rng.integers(day("1936-01-01"), day("1992-12-31") + 1, size=nh)
    hb = head_birth[household]
    birth = np.where(
        role == 0,
        hb,
        np.where(
            role == 1,
            hb + rng.integers(-5 * 365, 4 * 365, size=n),
            np.where(
                role <= 3,
                hb + rng.integers(21 * 365, 36 * 365, size=n),
                hb - rng.integers(20 * 365, 30 * 365, size=n),
            ),
        ),
    )
    # Spread births that fall outside the register's range over its first/last ten years
    # (clipping would pile thousands of people onto one birth date).
    latest, earliest = day("2020-12-31"), day("1928-01-01")
    birth = np.where(birth > latest, latest - rng.integers(0, 3650, size=n), birth)
    birth = np.where(birth < earliest, earliest + rng.integers(0, 3650, size=n), birth)
    head_male = rng.random(nh) < 0.82
    hm = head_male[household]
    male = np.where(role == 0, hm, np.where(role == 1, ~hm, rng.random(n) < 0.5))
    # She surnames in 莪山畲族乡; children carry the head's surname.
    p = np.asarray(names.SURNAME_WEIGHTS)
    sidx = rng.choice(len(names.SURNAMES), size=n, p=p / p.sum())
    she = np.array([names.SURNAMES.index(s) for s in names.SHE_SURNAMES])
    eshan = np.array([c == "330122200" for c in core.township_codes])[h_town[household]]
    sidx = np.where(eshan & (rng.random(n) < 0.7), she[rng.integers(0, len(she), size=n)], sidx)
    head_surname = sidx[starts]
    sidx = np.where(role == 1, sidx, head_surname[household])
    nm, var, _ = make_names(rng, male, sidx)
    ids = allocate_person_ids(rng, birth, male, SEQ_GENERAL)
    community = core.village_is_community[h_village][household]
    u = rng.random(n)
    reg = np.where(
        community,
        np.where(u < 0.12, 0, np.where(u < 0.42, 1, 2)),
        np.where(u < 0.86, 0, np.where(u < 0.93, 1, 2)),
    )
    # Whole rural households share one registration type.
    reg = np.where(community, reg, reg[starts][household])
    moved_in = np.where(
        rng.random(n) < 0.12, rng.integers(day("1990-01-01"), day("2020-12-31"), size=n), -1
    )
    moved_out = np.where(
        rng.random(n) < 0.03, rng.integers(day("2012-01-01"), day("2021-11-30"), size=n), -1
    )
    hh_ids = join(pick(core.township_codes, h_town), numbered("", np.arange(1, nh + 1), 7))
    return Residents(
        people=People(ids=ids, names=nm, variant_names=var, male=male, birth=birth),
        household=household,
        role=role,
        township=h_town[household],
        village=h_village[household],
        household_ids=hh_ids,
        household_township=h_town,
        household_village=h_village,
        household_head=starts,
        registration=reg,
        moved_in=moved_in,
        moved_out=moved_out,
        village_null=rng.random(n) < 0.01,
    )


@dataclass
class Officials:
    """Public officials (one row per person, township and unit) and their relatives."""

    people: People
    rows_person: np.ndarray  # person index per sup_official row
    rows_township: np.ndarray
    rows_unit: np.ndarray
    rows_position: pa.Array
    rows_leader: np.ndarray
    rows_start: np.ndarray
    rows_end: np.ndarray  # -1 for none
    home_township: np.ndarray  # per person
    relatives: People
    kin_official: np.ndarray  # person index (officials) per kinship row
    kin_relative_ids: pa.Array  # relative id per kinship row (may be another official)
    kin_relation: np.ndarray


def make_officials(core: Core, staff_weights: np.ndarray) -> Officials:
    """Township staff; a few transferred between townships; 0-4 relatives each."""
    rng = core.rng("officials")
    n = core.n("officials")
    people = make_people(core, "officials.people", n, "1962-01-01", "1998-12-31", SEQ_OFFICIAL, 0.6)
    home = rng.choice(len(core.township_codes), size=n, p=staff_weights / staff_weights.sum())
    leader = rng.random(n) < 0.08
    unit = rng.integers(0, len(names.UNITS), size=n)
    pos_idx = np.where(
        leader,
        len(names.POSITIONS) + rng.integers(0, len(names.LEADER_POSITIONS), size=n),
        rng.integers(0, len(names.POSITIONS), size=n),
    )
    start = rng.integers(day("2000-01-01"), day("2021-09-30"), size=n)
    end = np.where(
        rng.random(n) < 0.05, rng.integers(day("2020-06-01"), day("2021-12-31"), size=n), -1
    )
    # A few officials served in a second township earlier (transfer): a second row.
    moved = np.flatnonzero(rng.random(n) < 0.03)
    other = (home[moved] + rng.integers(1, len(core.township_codes), size=moved.size)) % len(
        core.township_codes
    )
    rows_person = np.r_[np.arange(n), moved]
    rows_township = np.r_[home, other]
    rows_unit = np.r_[unit, rng.integers(0, len(names.UNITS), size=moved.size)]
    rows_leader = np.r_[leader, np.zeros(moved.size, dtype=bool)]
    rows_start = np.r_[start, start[moved] - rng.integers(400, 3000, size=moved.size)]
    rows_end = np.r_[end, start[moved] - 1]
    positions = list(names.POSITIONS) + list(names.LEADER_POSITIONS)
    rows_position = pick(
        positions, np.r_[pos_idx, rng.integers(0, len(names.POSITIONS), moved.size)]
    )
    # Relatives.
    k = rng.choice([0, 1, 2, 3, 4], size=n, p=[0.08, 0.3, 0.32, 0.2, 0.1])
    kin_official = np.repeat(np.arange(n), k)
    nk = kin_official.size
    # The first relative listed is the spouse for most; the others are parents, children...
    first_kin = np.arange(nk) == np.repeat(np.cumsum(k) - k, k)
    relation = np.where(
        first_kin & (rng.random(nk) < 0.85), 0, rng.integers(1, len(names.RELATIONS), size=nk)
    )
    relatives = make_people(
        core, "officials.relatives", nk, "1940-01-01", "2015-12-31", SEQ_RELATIVE
    )
    kin_ids = relatives.ids
    # Some couples both serve: the spouse row points at another official.
    couples = np.flatnonzero((relation == 0) & (rng.random(nk) < 0.05))
    if couples.size:
        partner = rng.integers(0, n, size=couples.size)
        ok = partner != kin_official[couples]
        couples, partner = couples[ok], partner[ok]
        kin_list = kin_ids.to_numpy(zero_copy_only=False).astype(object)
        kin_list[couples] = people.ids.take(pa.array(partner)).to_numpy(zero_copy_only=False)
        kin_ids = pa.array(kin_list, pa.string())
    return Officials(
        people=people,
        rows_person=rows_person,
        rows_township=rows_township,
        rows_unit=rows_unit,
        rows_position=rows_position,
        rows_leader=rows_leader,
        rows_start=rows_start,
        rows_end=rows_end,
        home_township=home,
        relatives=relatives,
        kin_official=kin_official,
        kin_relative_ids=kin_ids,
        kin_relation=relation,
    )


@dataclass
class Enterprises:
    """Registered enterprises with their own persons (legal representative, shareholders)."""

    codes: pa.Array
    names: pa.Array
    construction: np.ndarray
    registered: np.ndarray
    status: np.ndarray  # 0 存续 1 注销 2 吊销 3 经营异常
    status_changed: np.ndarray  # -1 for none
    home_township: np.ndarray
    phones: pa.Array
    ips: pa.Array
    accounts: pa.Array
    persons: People
    legal_rep: np.ndarray  # person index per enterprise
    sh_enterprise: np.ndarray  # per shareholder row
    sh_person: np.ndarray
    sh_role: np.ndarray
    sh_ratio: np.ndarray  # NaN for none


STATUSES = ("存续", "注销", "吊销", "经营异常")
ROLES = ("股东", "董事", "监事", "经理")


def _uscc_bodies(core: Core, rng: np.random.Generator, registered: np.ndarray) -> pa.Array:
    n = registered.shape[0]
    region = np.where(rng.random(n) < 0.85, HOME_REGION, REGIONS[rng.integers(1, len(REGIONS), n)])
    kind = np.where(rng.random(n) < 0.96, 1, 3)  # 91 enterprise, 93 farmers' cooperative
    prefix = np.empty((n, 8), dtype=np.uint8)
    prefix[:, 0] = ord("9")
    prefix[:, 1] = ord("0") + kind
    prefix[:, 2:] = digits_matrix(region, 6)
    idx = np.arange(n, dtype=np.int64)
    body = np.empty((n, 8), dtype=np.uint8)
    old = registered < day("2016-01-01")
    body[old] = digits_matrix((idx[old] * 7919 + 14_000_000) % 10**8, 8)
    # Newer codes look like MA2XXXXX: an injective walk through the 31-character set.
    new = ~old
    charset = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
    v = (idx[new] * 104_729 + 777) % (31**5)
    body[new, 0] = ord("M")
    body[new, 1] = ord("A")
    body[new, 2] = ord("2")
    for k in range(7, 2, -1):
        body[new, k] = charset[v % 31]
        v //= 31
    return uscc_array(prefix, body)


def make_enterprises(core: Core) -> Enterprises:
    """Enterprises, 20% construction; each person belongs to exactly one enterprise."""
    rng = core.rng("enterprises")
    n = core.n("enterprises")
    construction = rng.random(n) < 0.2
    registered = rng.integers(day("1995-01-01"), day("2021-06-30"), size=n)
    # Recent registrations are more frequent.
    registered = np.maximum(registered, rng.integers(day("1995-01-01"), day("2021-06-30"), size=n))
    codes = _uscc_bodies(core, rng, registered)
    town = core.townships(rng, n)
    place = pick(names.ENTERPRISE_PLACES, rng.integers(0, len(names.ENTERPRISE_PLACES), n))
    brand = join(
        pick(names.BRAND_CHARS, rng.integers(0, len(names.BRAND_CHARS), n)),
        pick(names.BRAND_CHARS, rng.integers(0, len(names.BRAND_CHARS), n)),
    )
    suffix = pick(
        list(names.CONSTRUCTION_SUFFIXES) + list(names.OTHER_SUFFIXES),
        np.where(
            construction,
            rng.integers(0, len(names.CONSTRUCTION_SUFFIXES), n),
            len(names.CONSTRUCTION_SUFFIXES) + rng.integers(0, len(names.OTHER_SUFFIXES), n),
        ),
    )
    ent_names = join(place, brand, suffix)
    u = rng.random(n)
    status = np.where(u < 0.85, 0, np.where(u < 0.92, 1, np.where(u < 0.95, 2, 3)))
    status_changed = np.where(
        status > 0,
        registered + (rng.random(n) * (day("2021-12-31") - registered)).astype(np.int64),
        -1,
    )
    status_changed = np.where((status > 0) & (rng.random(n) < 0.1), -1, status_changed)
    idx = np.arange(n, dtype=np.int64)
    phones = join("0571-6", numbered("", (idx * 7_919 + 1_234_567) % 10_000_000, 7))
    ip_n = (idx * 2_654_435_761 + 99_991) % (1 << 24)
    ips = join(
        pick([str(x) for x in (115, 122, 60, 183, 36, 112)], (idx // (1 << 24)) % 6),
        ".",
        pick([str(x) for x in range(256)], ip_n >> 16),
        ".",
        pick([str(x) for x in range(256)], (ip_n >> 8) & 255),
        ".",
        pick([str(x) for x in range(256)], ip_n & 255),
    )
    accounts = numbered("33010401600", (idx * 7_919 + 5_550_001) % 10**8, 8)
    # Persons: a legal representative plus 0-3 others, never shared between enterprises.
    extra = rng.choice([0, 1, 2, 3], size=n, p=[0.35, 0.35, 0.2, 0.1])
    per = 1 + extra
    total = int(per.sum())
    persons = make_people(
        core, "enterprises.persons", total, "1950-01-01", "1999-12-31", SEQ_ENTERPRISE, 0.65
    )
    owner = np.repeat(np.arange(n), per)
    first = np.r_[0, np.cumsum(per)[:-1]]
    legal_rep = first
    rank = np.arange(total) - np.repeat(first, per)
    # Shareholder rows: the legal rep as 股东 (and sometimes also 经理), others by role.
    rep_also_manager = rng.random(n) < 0.3
    other_role = rng.choice([0, 1, 2, 3], size=total, p=[0.55, 0.15, 0.2, 0.1])
    role = np.where(rank == 0, 0, other_role)
    sh_enterprise = np.r_[owner, np.flatnonzero(rep_also_manager)]
    sh_person = np.r_[np.arange(total), legal_rep[rep_also_manager]]
    sh_role = np.r_[role, np.full(int(rep_also_manager.sum()), 3)]
    ratio = rng.dirichlet(np.ones(4), size=total)[:, 0]
    sh_ratio = np.r_[
        np.where(role == 0, np.round(ratio * 100, 1), np.nan),
        np.full(int(rep_also_manager.sum()), np.nan),
    ]
    return Enterprises(
        codes=codes,
        names=ent_names,
        construction=construction,
        registered=registered,
        status=status,
        status_changed=status_changed,
        home_township=town,
        phones=phones,
        ips=ips,
        accounts=accounts,
        persons=persons,
        legal_rep=legal_rep,
        sh_enterprise=sh_enterprise,
        sh_person=sh_person,
        sh_role=sh_role,
        sh_ratio=sh_ratio,
    )
