"""Warehouses behind one small interface: run SQL to Arrow, load Arrow, write Arrow."""

from __future__ import annotations

from adapters.base import Warehouse, WarehouseError, connect

__all__ = ["Warehouse", "WarehouseError", "connect"]
