"""Warehouses behind one small interface: run SQL to Arrow, load Arrow, write Arrow."""

from __future__ import annotations

from adapters.base import (
    QueryTimeout,
    Warehouse,
    WarehouseError,
    WarehouseLost,
    WarehouseNotFound,
    connect,
)

__all__ = [
    "QueryTimeout",
    "Warehouse",
    "WarehouseError",
    "WarehouseLost",
    "WarehouseNotFound",
    "connect",
]
