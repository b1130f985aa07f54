"""A straightforward pandas version of ten models, as an analyst would write them.

The point is a second baseline beside hand-written SQL: what the same
question costs when one reads the tables into DataFrames and filters,
merges and groups them. Each function reads only the columns it needs,
applies the as-of rule (a row whose event date is after the day is
invisible; a null event date is visible) and returns key -> township, the
smallest township when rows share a key, as the engine does. The
parameters are the pack's defaults, written as constants as an analyst
would (demo_reference does the same).

Reading: Parquet through pyarrow (the demo county's own files, the same
data as the DuckDB file), dates as datetime64, and money — DECIMAL(18,2) in
the warehouse — as float64 holding whole cents, so that sums and
comparisons such as "paid exactly the contract amount" stay exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# The characters `blank()` ignores (engine/compiler/functions.BLANK_CHARACTERS).
BLANK = " \t\n\r\u00a0\u3000"
CENT = 100  # money is in cents

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class PandasModel:
    """One model: the columns it reads per table, and the function that computes it."""

    model_id: str
    reads: dict[str, tuple[str, ...]]
    compute: Callable[[Tables, pd.Timestamp], dict[str, str]]


MODELS: dict[str, PandasModel] = {}


def model(model_id: str, **reads: tuple[str, ...]):
    """Register a model function with the columns it reads."""

    def register(compute: Callable[[Tables, pd.Timestamp], dict[str, str]]):
        MODELS[model_id] = PandasModel(model_id, reads, compute)
        return compute

    return register


def read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """One Parquet file as a DataFrame: dates as datetime64, decimals as float cents."""
    table = pq.read_table(path, columns=columns)
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            cents = pc.round(pc.multiply(table.column(i).cast(pa.float64()), CENT))
            table = table.set_column(i, field.name, cents)
    return table.to_pandas(date_as_object=False)


def load(parquet: Path, models: list[str]) -> Tables:
    """Every table the given models read, with the union of the columns they need."""
    columns: dict[str, list[str]] = {}
    for model_id in models:
        for table, cols in MODELS[model_id].reads.items():
            wanted = columns.setdefault(table, [])
            wanted.extend(c for c in cols if c not in wanted)
    return {name: read_table(parquet / f"{name}.parquet", cols) for name, cols in columns.items()}


def visible(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """The rows a run as of `as_of` may see: event date null or not after the day."""
    event = frame[column]
    return frame[event.isna() | (event < as_of + pd.Timedelta(days=1))]


def not_blank(values: pd.Series) -> pd.Series:
    """`not blank(x)`: present and not only white space (ASCII, no-break or ideographic)."""
    return values.notna() & (values.str.strip(BLANK) != "")


def smallest_township(keys: pd.Series, townships: pd.Series) -> dict[str, str]:
    """Each key and the smallest township among its rows (the engine's tie-break)."""
    frame = pd.DataFrame({"key": keys.to_numpy(), "township": townships.to_numpy()})
    frame = frame.dropna(subset=["key"])
    return frame.groupby("key")["township"].min().to_dict()


def joined(*parts: pd.Series) -> pd.Series:
    """A composite key: the parts as text joined by `|`, as the engine writes them."""
    key = parts[0].astype(str)
    for part in parts[1:]:
        key = key + "|" + part.astype(str)
    return key


@model(
    "ENG01",
    dr_project=("project_id", "township", "investment", "approved_on", "status"),
    trade_tender=("project_id", "published_on"),
)
def eng01(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """应招未招: large projects approved over 6 months ago with no tender yet."""
    p = visible(t["dr_project"], "approved_on", as_of)
    tenders = visible(t["trade_tender"], "published_on", as_of)
    late = p["approved_on"] + pd.DateOffset(months=6) < as_of
    hit = p[
        (p["investment"] >= 4_000_000 * CENT)
        & ((p["status"] != "终止") | p["status"].isna())
        & late
        & ~p["project_id"].isin(tenders["project_id"])
    ]
    return smallest_township(hit["project_id"], hit["township"])


@model(
    "ENG03",
    trade_tender=("tender_id", "township", "published_on"),
    trade_bid=("tender_id", "bidder_code", "contact_phone", "ip_address", "submitted_at"),
)
def eng03(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """串标迹象: two bidders of one tender share a phone number or an IP address."""
    tenders = visible(t["trade_tender"], "published_on", as_of)
    bids = visible(t["trade_bid"], "submitted_at", as_of)
    suspect: set[str] = set()
    for column in ("contact_phone", "ip_address"):
        side = bids.loc[not_blank(bids[column]), ["tender_id", "bidder_code", column]]
        pairs = side.merge(side, on=["tender_id", column])
        pairs = pairs[pairs["bidder_code_x"] != pairs["bidder_code_y"]]
        suspect.update(pairs["tender_id"])
    hit = tenders[tenders["tender_id"].isin(suspect)]
    return smallest_township(hit["tender_id"], hit["township"])


@model(
    "ENG06",
    trade_contract=("contract_id", "township", "amount", "signed_on"),
    build_change=("contract_id", "amount_delta", "changed_on"),
    fin_payment=("contract_id", "amount", "paid_on"),
)
def eng06(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """超合同付款: paid more than the contract amount plus its net changes."""
    contracts = visible(t["trade_contract"], "signed_on", as_of)
    changes = visible(t["build_change"], "changed_on", as_of)
    payments = visible(t["fin_payment"], "paid_on", as_of)
    net = changes.groupby("contract_id")["amount_delta"].sum()
    paid = payments.dropna(subset=["contract_id"]).groupby("contract_id")["amount"].sum()
    c = contracts.assign(
        net=contracts["contract_id"].map(net).fillna(0),
        paid=contracts["contract_id"].map(paid).fillna(0),
    )
    hit = c[c["paid"] > c["amount"] + c["net"]]
    return smallest_township(hit["contract_id"], hit["township"])


@model(
    "FUN01",
    fin_subsidy=("recipient_id", "program", "township", "paid_on"),
    ca_death=("person_id", "died_on"),
)
def fun01(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """死亡人员冒领: subsidies paid more than 60 days after the recipient died."""
    subsidies = visible(t["fin_subsidy"], "paid_on", as_of)
    deaths = visible(t["ca_death"], "died_on", as_of)
    m = subsidies.merge(deaths, left_on="recipient_id", right_on="person_id")
    m = m[m["paid_on"] > m["died_on"] + pd.Timedelta(days=60)]
    # township: the latest payment's, the smallest township on a tie
    m = m.sort_values(["paid_on", "township"], ascending=[False, True])
    first = m.groupby(["recipient_id", "program"], as_index=False).first()
    return smallest_township(joined(first["recipient_id"], first["program"]), first["township"])


@model(
    "FUN02",
    fin_subsidy=("recipient_id", "program", "period", "township", "paid_on"),
)
def fun02(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """重复领取: the same subsidy for the same period paid twice or more."""
    s = visible(t["fin_subsidy"], "paid_on", as_of)
    s = s[not_blank(s["period"])]
    g = s.groupby(["recipient_id", "program", "period"], as_index=False).agg(
        n=("township", "size"), township=("township", "min")
    )
    hit = g[g["n"] >= 2]
    return smallest_township(
        joined(hit["recipient_id"], hit["program"], hit["period"]), hit["township"]
    )


@model(
    "FUN06",
    fin_subsidy=("account_no", "recipient_id", "township", "paid_on"),
)
def fun06(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """多人补贴汇入同一账户: three or more recipients paid into one account."""
    s = visible(t["fin_subsidy"], "paid_on", as_of)
    s = s[not_blank(s["account_no"])]
    g = s.groupby("account_no", as_index=False).agg(
        recipients=("recipient_id", "nunique"), township=("township", "min")
    )
    hit = g[g["recipients"] >= 3]
    return smallest_township(hit["account_no"], hit["township"])


@model(
    "FIN01",
    bank_txn=("txn_id", "account_no", "txn_at", "direction", "amount", "channel"),
    bank_account=("account_no", "township", "opened_on"),
)
def fin01(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """大额提取现金: cash withdrawals of 50,000 yuan or more from a township's account."""
    txns = visible(t["bank_txn"], "txn_at", as_of)
    accounts = visible(t["bank_account"], "opened_on", as_of)
    txns = txns[
        (txns["direction"] == "付")
        & txns["channel"].isin(["柜面现金", "ATM"])
        & (txns["amount"] >= 50_000 * CENT)
    ]
    m = txns.merge(accounts[not_blank(accounts["township"])], on="account_no")
    return smallest_township(m["txn_id"], m["township"])


@model(
    "FIN03",
    town_reimbursement=("township", "claimant_id", "vendor_name", "amount", "expense_on"),
)
def fin03(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """化整为零报销: 3+ claims at one vendor in a month, each under 5,000, together 5,000+."""
    r = visible(t["town_reimbursement"], "expense_on", as_of)
    r = r[not_blank(r["vendor_name"])]
    r = r.assign(year=r["expense_on"].dt.year, month=r["expense_on"].dt.month)
    group = ["claimant_id", "vendor_name", "year", "month"]
    g = r.groupby(group, as_index=False)["amount"].agg(["size", "max", "sum"])
    hits = g[(g["size"] >= 3) & (g["max"] < 5_000 * CENT) & (g["sum"] >= 5_000 * CENT)]
    # township: the latest claim's, the smallest township on a tie
    rows = r.merge(hits[group], on=group)
    rows = rows.sort_values(["expense_on", "township"], ascending=[False, True])
    first = rows.groupby(group, as_index=False).first()
    year_month = first["year"].astype(str) + "-" + first["month"].map("{:02d}".format)
    return smallest_township(
        joined(first["claimant_id"], first["vendor_name"], year_month), first["township"]
    )


@model(
    "HOU04",
    nr_housing_approval=("application_id", "township", "applied_on", "approved_on"),
    ref_calendar=("day", "is_workday"),
)
def hou04(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """审批超时: more than 20 workdays from application to approval (or to the day, if none)."""
    h = visible(t["nr_housing_approval"], "applied_on", as_of)
    calendar = t["ref_calendar"]
    workdays = np.sort(calendar.loc[calendar["is_workday"], "day"].to_numpy())
    ended = h["approved_on"].fillna(as_of).clip(upper=as_of)
    # workdays d with applied_on < d <= ended
    used = np.searchsorted(workdays, ended.to_numpy(), side="right") - np.searchsorted(
        workdays, h["applied_on"].to_numpy(), side="right"
    )
    hit = h[(used > 20) & h["applied_on"].notna().to_numpy()]
    return smallest_township(hit["application_id"], hit["township"])


@model(
    "INV05",
    com_incentive=("enterprise_code", "year", "township", "paid_on"),
)
def inv05(t: Tables, as_of: pd.Timestamp) -> dict[str, str]:
    """多头兑现: one enterprise's incentives for one year paid by two or more townships."""
    i = visible(t["com_incentive"], "paid_on", as_of)
    i = i[i["year"].notna()]
    g = i.groupby(["enterprise_code", "year"], as_index=False).agg(
        townships=("township", "nunique"), township=("township", "min")
    )
    hit = g[g["townships"] >= 2]
    return smallest_township(
        joined(hit["enterprise_code"], hit["year"].astype("int64")), hit["township"]
    )


def run(tables: Tables, as_of: dt.date, models: list[str]) -> dict[str, dict[str, str]]:
    """Each model's key -> township as of the day."""
    day = pd.Timestamp(as_of)
    return {m: MODELS[m].compute(tables, day) for m in models}
