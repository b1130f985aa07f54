"""The warehouse dialects the compiler writes, named apart from the compiler.

A module of its own so that what only names them (the command line's --dialect
choices, `check` comparing compiled/ by its fingerprint) does not import sqlglot.
"""

from __future__ import annotations

DIALECTS: tuple[str, ...] = (
    "duckdb", "sqlite", "postgres", "spark", "trino", "bigquery", "snowflake", "mysql",
    "clickhouse", "doris", "starrocks", "hive",
)  # fmt: skip
