"""Warehouses behind one small interface: run SQL to Arrow, load Arrow, write Arrow.

`connect(url)` opens one (adapters/registry.py picks the adapter by the URL's
scheme); the interface and the errors every adapter raises are in adapters/base.py.
"""

from __future__ import annotations

from adapters.base import (
    Conflict,
    PermissionDenied,
    QueryCancelled,
    QueryFailed,
    QueryTimeout,
    Warehouse,
    WarehouseError,
    WarehouseLost,
    WarehouseNotFound,
    WarehouseUnreachable,
)
from adapters.registry import connect

__all__ = [
    "Conflict",
    "PermissionDenied",
    "QueryCancelled",
    "QueryFailed",
    "QueryTimeout",
    "Warehouse",
    "WarehouseError",
    "WarehouseLost",
    "WarehouseNotFound",
    "WarehouseUnreachable",
    "connect",
]
