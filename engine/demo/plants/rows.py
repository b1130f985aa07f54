"""Row builders shared by the planted cases of several domains (projects, contracts, payments)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from engine.demo.plants.base import TOWNSHIP_NAMES, Enterprise, Person, Planter, Row, yuan

INDUSTRY = {"房建": "47", "市政": "48", "水利": "76", "交通": "54", "农业农村": "05", "其他": "78"}


def project(
    pl: Planter,
    township: str,
    name: str,
    investment: str | int | Decimal,
    approved_on: dt.date,
    *,
    status: str | None = "在建",
    parent: str | None = None,
    category: str = "市政",
    project_id: str | None = None,
    add: bool = True,
) -> str:
    """A dr_project row (or only its id, ``add=False``, for a project that is not registered)."""
    pid = project_id or (
        f"{approved_on.year}-330122-{INDUSTRY[category]}-01-9{pl.count('project'):05d}"
    )
    if add:
        pl.add(
            "dr_project",
            project_id=pid,
            parent_project_id=parent,
            township=township,
            name=name,
            category=category,
            investment=yuan(investment),
            approved_on=approved_on,
            funding_source="县财政",
            status=status,
        )
    return pid


def tender(
    pl: Planter,
    project_id: str,
    township: str,
    published_on: dt.date,
    *,
    title: str = "",
    method: str = "公开招标",
    budget: str | int | None = None,
) -> str:
    """A trade_tender row."""
    tid = pl.id("tender")
    pl.add(
        "trade_tender",
        tender_id=tid,
        project_id=project_id,
        township=township,
        title=title or None,
        method=method,
        budget=yuan(budget) if budget is not None else None,
        published_on=published_on,
        bid_deadline_on=published_on + dt.timedelta(days=25),
    )
    return tid


def bid(
    pl: Planter,
    tender_id: str,
    bidder: Enterprise,
    submitted_at: dt.datetime,
    amount: str | int,
    *,
    phone: str | None = "default",
    ip: str | None = "default",
) -> str:
    """A trade_bid row; phone and IP default to the bidder's own."""
    bid_id = pl.id("bid")
    pl.add(
        "trade_bid",
        bid_id=bid_id,
        tender_id=tender_id,
        bidder_code=bidder.code,
        bidder_name=bidder.name,
        amount=yuan(amount),
        submitted_at=submitted_at,
        contact_phone=bidder.phone if phone == "default" else phone,
        ip_address=bidder.ip if ip == "default" else ip,
    )
    return bid_id


def contract(
    pl: Planter,
    township: str,
    contractor: Enterprise,
    amount: str | int | Decimal,
    signed_on: dt.date,
    *,
    project_id: str | None = None,
    tender_id: str | None = None,
    kind: str | None = "工程",
) -> str:
    """A trade_contract row."""
    cid = pl.id("contract")
    pl.contractors[cid] = contractor
    pl.add(
        "trade_contract",
        contract_id=cid,
        project_id=project_id,
        tender_id=tender_id,
        township=township,
        contractor_code=contractor.code,
        contractor_name=contractor.name,
        amount=yuan(amount),
        signed_on=signed_on,
        kind=kind,
    )
    return cid


def change(pl: Planter, contract_id: str, delta: str | int | Decimal, changed_on: dt.date) -> str:
    """A build_change row."""
    cid = pl.id("change")
    pl.add(
        "build_change",
        change_id=cid,
        contract_id=contract_id,
        amount_delta=yuan(delta),
        changed_on=changed_on,
        reason="设计变更" if Decimal(str(delta)) >= 0 else "取消部分工程内容",
    )
    return cid


def acceptance(
    pl: Planter,
    contract_id: str,
    accepted_on: dt.date,
    result: str = "合格",
    project_id: str | None = None,
) -> str:
    """A build_acceptance row."""
    aid = pl.id("acceptance")
    pl.add(
        "build_acceptance",
        acceptance_id=aid,
        project_id=project_id,
        contract_id=contract_id,
        accepted_on=accepted_on,
        result=result,
    )
    return aid


def payment(
    pl: Planter,
    township: str,
    payee: Enterprise | Person | None,
    amount: str | int | Decimal,
    paid_on: dt.date,
    *,
    purpose: str = "工程进度款",
    economic_class: str | None = "资本性支出",
    contract_id: str | None = None,
    fund_id: str | None = None,
    payee_account: str | None = None,
) -> str:
    """A fin_payment row to an enterprise or a person."""
    pid = pl.id("payment")
    if isinstance(payee, Enterprise):
        name, code, account = payee.name, payee.code, payee.account
    elif isinstance(payee, Person):
        name, code, account = payee.name, payee.id, payee_account or pl.card()
    else:
        name, code, account = None, None, None
    pl.add(
        "fin_payment",
        payment_id=pid,
        township=township,
        payer_unit=f"{TOWNSHIP_NAMES[township]}财政所",
        payee_name=name,
        payee_code=code,
        payee_account=account,
        amount=yuan(amount),
        paid_on=paid_on,
        purpose=purpose,
        economic_class=economic_class,
        contract_id=contract_id,
        fund_id=fund_id,
    )
    return pid


def decision(
    pl: Planter,
    township: str,
    subject: str,
    amount: str | int | Decimal | None,
    decided_on: dt.date,
    *,
    contract_id: str | None = None,
) -> str:
    """A town_decision row."""
    did = pl.id("decision")
    pl.add(
        "town_decision",
        decision_id=did,
        township=township,
        subject=subject,
        amount=yuan(amount) if amount is not None else None,
        decided_on=decided_on,
        contract_id=contract_id,
    )
    return did


def death(pl: Planter, person: Person, died_on: dt.date) -> Row:
    """A ca_death row, returned as a trigger: the death's registration can make a case fire."""
    return "ca_death", pl.add("ca_death", person_id=person.id, name=person.name, died_on=died_on)
