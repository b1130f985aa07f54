"""Warehouses behind one small interface: run SQL to Arrow, load Arrow, write Arrow."""

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
    connect,
)

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
