"""The source catalog as the demo generator needs it: columns, Arrow types, event dates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from ruamel.yaml import YAML

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "policies" / "pack.yaml"

# The contract's logical types and the Arrow type each becomes in the demo tables.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "decimal": pa.decimal128(18, 2),
    "float": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "bool": pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    """One column of a source, as the catalog declares it."""

    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class Source:
    """One logical source: its columns in catalog order, key and event date."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    event_date: str | None

    @property
    def schema(self) -> pa.Schema:
        """Arrow schema with the catalog's column order; required columns are not nullable."""
        return pa.schema(
            [pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in self.columns]
        )


@dataclass(frozen=True)
class Township:
    """A township of the reference county."""

    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class Catalog:
    """The sources and the 14 townships the demo county is generated for."""

    sources: dict[str, Source]
    townships: tuple[Township, ...]


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read the catalog from the policy pack (or a contract-shaped sources file) at run time.

    The generator follows whatever the pack declares, so a column added to the
    catalog shows up in the demo tables (empty) without touching this package.
    """
    data = YAML(typ="safe").load(Path(path or DEFAULT_CATALOG).read_text(encoding="utf-8"))
    sources: dict[str, Source] = {}
    for name, spec in data["sources"].items():
        columns = tuple(
            Column(col, str(c["type"]), bool(c.get("required", False)))
            for col, c in spec["columns"].items()
        )
        sources[name] = Source(
            name=name,
            columns=columns,
            key=tuple(spec.get("key") or ()),
            event_date=spec.get("event_date"),
        )
    townships = tuple(
        Township(str(t["township"]), str(t["name"]), str(t.get("kind", "")))
        for t in data["townships"]
    )
    return Catalog(sources=sources, townships=townships)
