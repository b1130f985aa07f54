"""Which adapter opens which warehouse URL: a table of URL schemes, read when a URL is opened.

Each entry names the module and function that open a URL of that scheme; the
module is imported only then, so a DuckDB user never imports pyspark or an ADBC
driver, and `adapters.base` (the interface and its errors, which every adapter
imports) imports no adapter.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from urllib.parse import urlparse

from adapters.base import Warehouse, WarehouseUnreachable
from adapters.passwords import address

Opener = Callable[..., Warehouse]
"""`opener(url, read_only=False, must_exist=False)`: one warehouse, opened."""

ADAPTERS: dict[str, str] = {
    "duckdb": "adapters.duckdb:connect_duckdb",
    "sqlite": "adapters.adbc:connect_sqlite",
    "postgresql": "adapters.adbc:connect_postgres",
    "postgres": "adapters.adbc:connect_postgres",
    "spark": "adapters.spark:connect_spark",
    "adbc": "adapters.adbc:connect_generic",  # adbc+DRIVER://…?dialect=NAME
}
"""URL scheme (before any `+`) -> "module:function" that opens it."""


def scheme(url: str) -> str:
    """The scheme that picks the adapter: `duckdb` for duckdb:///x, `adbc` for adbc+flightsql://…."""
    return urlparse(url).scheme.split("+", 1)[0]


def opener(url: str) -> Opener:
    """The function that opens `url`, its module imported now; a clear error for any other."""
    entry = ADAPTERS.get(scheme(url))
    if entry is None:
        raise WarehouseUnreachable(
            f"不支持的数据仓库地址「{url}」",
            f"unsupported warehouse URL {url!r}; use duckdb:///PATH, sqlite:///PATH, "
            "postgresql://…, spark://local or adbc+DRIVER://…?dialect=NAME",
        )
    module, function = entry.split(":")
    opened: Opener = getattr(importlib.import_module(module), function)
    return opened


def connect(url: str, read_only: bool = False, must_exist: bool = False) -> Warehouse:
    """Open the warehouse a URL names: duckdb:///PATH (the default), sqlite:///PATH, ….

    `must_exist` refuses to create an empty database where a county's
    warehouse was expected (a mistyped path would otherwise run on nothing).
    This is the one place a password named by a deployment (a `WarehouseURL`'s
    `password`) is read and written into the URL: the driver gets it, and the
    warehouse opened keeps the URL without it.
    """
    full = address(url)
    warehouse = opener(url)(full, read_only=read_only, must_exist=must_exist)
    if full != url:
        warehouse.url = str(url)
    return warehouse
