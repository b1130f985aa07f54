"""The per-query time limit: one watching thread for every query, interrupts only while open."""

from __future__ import annotations

import threading

import pytest

from adapters import connect
from adapters.base import QueryTimeout, TimeLimit


def test_a_long_query_is_interrupted_and_reported_as_timed_out() -> None:
    warehouse = connect("duckdb:///:memory:")
    endless = "SELECT count(*) FROM range(100000000000) a"
    with pytest.raises(QueryTimeout):
        warehouse.query(endless, timeout=0.2)
    # The connection is still good, and a later quick query is not interrupted.
    assert warehouse.query("SELECT 42 AS x", timeout=0.2).column("x").to_pylist() == [42]


def test_an_interrupt_comes_once_its_time_is_up_never_after_the_block() -> None:
    fired = threading.Event()
    quick = TimeLimit(0.05, fired.set)
    with quick:
        pass
    slow = threading.Event()
    with TimeLimit(0.05, slow.set) as limit:
        assert slow.wait(5)
    assert limit.expired.is_set()
    assert not fired.wait(0.2) and not quick.expired.is_set()


def test_the_earliest_limit_fires_first_whatever_the_order_they_came_in() -> None:
    order: list[str] = []
    late, early = (
        TimeLimit(0.6, lambda: order.append("late")),
        TimeLimit(0.05, lambda: order.append("early")),
    )
    with late, early:
        done = threading.Event()
        with TimeLimit(0.9, done.set):
            assert done.wait(5)
    assert order == ["early", "late"]


def test_no_limit_watches_nothing() -> None:
    called = threading.Event()
    with TimeLimit(None, called.set) as limit:
        pass
    assert not called.is_set() and not limit.expired.is_set()
