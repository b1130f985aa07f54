"""Shared fixtures: the repository's own pack, checked once, and warehouse builders."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import settings

from adapters.duckdb import DuckDBWarehouse
from dsl import ir
from engine import api
from engine.schema import source_schema

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"

# No property test may fail because a loaded CI machine ran one example slowly.
settings.register_profile("oversight", deadline=None)
settings.load_profile("oversight")

# Shared test helpers (tests/index_fixture.py …) import as top-level modules.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from county_fixture import WAREHOUSE_KINDS  # noqa: E402
from postgres_support import PASSWORD_REQUIRED_HBA  # noqa: E402
from spark_support import spark_available  # noqa: E402


@pytest.fixture(scope="session")
def pack() -> ir.CheckedPack:
    return api.load_pack(POLICIES, examples=True)


WarehouseBuilder = Callable[[dict[str, list[dict]]], str]


@pytest.fixture
def duckdb_warehouse(tmp_path: Path, pack: ir.CheckedPack) -> WarehouseBuilder:
    """Build a DuckDB file holding the given sources (rows as dicts); returns its URL.

    Only the named sources exist in it, so models reading others are skipped.
    """

    def build(rows_by_source: dict[str, list[dict]]) -> str:
        url = f"duckdb:///{tmp_path / 'county.duckdb'}"
        warehouse = DuckDBWarehouse(url)
        try:
            for name, rows in rows_by_source.items():
                schema = source_schema(pack.pack.sources[name])
                warehouse.load(name, pa.Table.from_pylist(rows, schema=schema), replace=True)
        finally:
            warehouse.close()
        return url

    return build


@pytest.fixture(params=WAREHOUSE_KINDS)
def empty_warehouse(request, tmp_path: Path) -> str:
    """The URL of an empty warehouse of each kind (on PostgreSQL a fresh database)."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_database")
    return f"{request.param}:///{tmp_path / f'county.{request.param}'}"


@pytest.fixture(params=("duckdb", "sqlite", "postgres", "spark"))
def warehouse_url(request, tmp_path: Path) -> str:
    """The URL of an empty warehouse of each kind we run, Spark included (skipped without Java).

    On PostgreSQL a fresh database. A test module may define its own `warehouse_url`.
    """
    if request.param == "spark" and (why := spark_available()):
        pytest.skip(why)
    if request.param == "postgres":
        return request.getfixturevalue("postgres_database")
    return f"{request.param}:///{tmp_path / f'county.{request.param}'}"


@pytest.fixture
def townships(pack: ir.CheckedPack) -> list[dict]:
    return [{"township": t.code, "name": t.name, "kind": t.kind} for t in pack.pack.townships]


# ---- warehouses that need a server or a JVM: started here, for the whole session -------------

POSTGRES_ENV = "OVERSIGHT_TEST_POSTGRES"  # a postgresql:// URL to use instead of starting one


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[str]:
    """A PostgreSQL server on loopback for the session: $OVERSIGHT_TEST_POSTGRES, or one
    started from Debian's binaries in a temporary folder (as user postgres when root,
    since initdb refuses to run as root)."""
    import os
    import shutil
    import subprocess
    import tempfile

    if os.environ.get(POSTGRES_ENV):
        yield os.environ[POSTGRES_ENV]
        return
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (Debian's postgresql package) on this machine")
    # Not under pytest's tmp_path: the postgres user must be able to reach the folder.
    folder = Path(tempfile.mkdtemp(prefix="oversight-postgres-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        folder.chmod(0o700)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    subprocess.run(
        [
            *as_postgres,
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        capture_output=True,
    )
    # Trust for everyone but the members of one group role, who must give their password
    # (tests/engine/test_passwords.py creates the role and its members): the first line
    # that matches a connection decides, so this one goes first.
    hba = data / "pg_hba.conf"
    hba.write_text(PASSWORD_REQUIRED_HBA + hba.read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run(
        [
            *as_postgres,
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:  # pg_ctl -w returned once the server accepts connections
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _fresh_database(server: str) -> Iterator[str]:
    """A fresh, empty database on `server` while the block runs, dropped afterwards."""
    import uuid

    import adbc_driver_postgresql.dbapi as postgres

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = postgres.connect(server, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped afterwards."""
    with _fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_module_database(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for a whole test module: a warehouse built once, read by many."""
    with _fresh_database(postgres_server) as url:
        yield url
