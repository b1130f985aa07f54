"""A warehouse's password: named by the deployment, never written where it can be read back.

The session's PostgreSQL server (tests/conftest.py) trusts every role but the members
of the group role `oversight_password_required`, who must give their password
(scram-sha-256); the role made here is one, so a run that connects has really given
the password. The password holds every character a URL gives a meaning to, and one
that is not ASCII. On a server from $OVERSIGHT_TEST_POSTGRES that does not demand it,
the assertions that need a refused password are skipped; the rest still run.
"""

from __future__ import annotations

import html
import io
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, urlsplit

import adbc_driver_postgresql.dbapi as postgres
import pytest
from county_fixture import fill_county
from postgres_support import PASSWORD_REQUIRED_GROUP

from adapters import connect
from adapters.passwords import PasswordSource, WarehouseURL, with_password
from adapters.redaction import mask, redact, scrub
from dsl.diagnostics import DiagnosticError, render_human
from engine import api
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.policy.deployment import load_deployment

PASSWORD = "p@ss:w/rd#?%&= ü'\""
FORMS = {
    PASSWORD,
    quote(PASSWORD, safe=""),
    quote(PASSWORD),
    quote_plus(PASSWORD),
    json.dumps(PASSWORD)[1:-1],
    json.dumps(PASSWORD, ensure_ascii=False)[1:-1],
    html.escape(PASSWORD),
}
"""The password as any output might carry it: raw, percent-encoded, escaped for JSON and HTML."""

PROJECT = {
    "project_id": "P1",
    "township": "330122102",
    "name": "农村自来水工程",
    "investment": Decimal("5000000"),
    "approved_on": date(2021, 4, 20),
    "status": "在建",
}
"""One project that needs a tender and has none: ENG01 raises one warning on it."""


def oversight(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def assert_no_password(text: str, where: str) -> None:
    shown = [form for form in FORMS if form in text]
    assert not shown, f"the password ({shown}) is in {where}"


# ---- the role that must give its password ---------------------------------------------------


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.fixture(scope="module")
def role(postgres_server: str) -> Iterator[tuple[str, bool]]:
    """A login role with PASSWORD, a member of the group that must give it; whether it must.

    Whether the server demands the password is read from its pg_hba rules, not assumed.
    """
    name = f"oversight_pw_{uuid.uuid4().hex[:8]}"
    try:
        admin = postgres.connect(postgres_server, autocommit=True)
    except Exception as exc:  # pragma: no cover - a server we cannot administer
        pytest.skip(f"cannot administer the test server: {exc}")
    with admin.cursor() as cursor:
        try:
            cursor.execute(f'CREATE ROLE "{PASSWORD_REQUIRED_GROUP}" NOLOGIN')
        except postgres.ProgrammingError:
            pass  # made by another module's run on the same server
        cursor.execute(
            f'CREATE ROLE "{name}" LOGIN PASSWORD {_sql_literal(PASSWORD)} '
            f'IN ROLE "{PASSWORD_REQUIRED_GROUP}"'
        )
        cursor.execute("SELECT user_name, auth_method FROM pg_hba_file_rules ORDER BY line_number")
        rules = cursor.fetchall()
    enforced = bool(rules) and rules[0] == ([f"+{PASSWORD_REQUIRED_GROUP}"], "scram-sha-256")
    try:
        yield name, enforced
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def county(postgres_database: str, pack, townships, role) -> str:
    """A county's warehouse (ENG01 raises one warning on it) the role may read and keep its
    ledger in; returns the database's URL as the role, without a password."""
    fill_county(postgres_database, pack, townships, {"dr_project": [PROJECT]})
    name, _ = role
    admin = postgres.connect(postgres_database, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f'GRANT CREATE, USAGE ON SCHEMA public TO "{name}"')
        cursor.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{name}"')
    admin.close()
    parts = urlsplit(postgres_database)
    return parts._replace(netloc=f"{name}@{parts.hostname}:{parts.port}").geturl()


@pytest.fixture
def no_libpq_password(monkeypatch, tmp_path: Path) -> None:
    """Neither PGPASSWORD nor a .pgpass of the developer's own may give the password."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))


def deployment_file(folder: Path, url: str, *lines: str) -> Path:
    path = folder / "deployment.yaml"
    path.write_text("\n".join([f"warehouse: {url}", *lines]) + "\n", encoding="utf-8")
    return path


def run(deployment: Path, folder: Path, *extra: str) -> tuple[int, str, str]:
    return oversight(
        "run",
        "--as-of",
        "2021-11-15",
        "--select",
        "ENG01",
        "--deployment",
        str(deployment),
        "--manifest",
        str(folder / "manifest.json"),
        *extra,
    )


# ---- the password given -----------------------------------------------------------------------


def test_without_a_password_the_role_is_refused(county, role, no_libpq_password, tmp_path):
    """What makes the tests below mean something: the server asks this role for it."""
    if not role[1]:
        pytest.skip("this server does not demand the role's password")
    code, _, err = run(deployment_file(tmp_path, county), tmp_path)
    assert code in {ExitCode.WAREHOUSE_UNREACHABLE, ExitCode.PERMISSION_DENIED}
    assert "no password supplied" in err, err


def test_password_env(county, no_libpq_password, monkeypatch, tmp_path):
    monkeypatch.setenv("COUNTY_PG_PASSWORD", PASSWORD)
    deployment = deployment_file(tmp_path, county, "password_env: COUNTY_PG_PASSWORD")
    code, _, err = run(deployment, tmp_path, "--log-format", "json")
    assert code == ExitCode.OK, err
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["outcome"] == "ok" and manifest["warnings"]["raised"] == 1
    assert manifest["warehouse"] == county  # as written: the role, no password


def test_grants_check_connects_with_the_password(county, no_libpq_password, monkeypatch, tmp_path):
    monkeypatch.setenv("COUNTY_PG_PASSWORD", PASSWORD)
    deployment = deployment_file(tmp_path, county, "password_env: COUNTY_PG_PASSWORD")
    code, out, err = oversight("grants", "--check", "--deployment", str(deployment))
    assert code in (ExitCode.OK, ExitCode.PERMISSION_DENIED), err  # it connected and asked
    assert_no_password(out + err, "grants --check")


def test_password_file_relative_to_the_deployment(county, no_libpq_password, tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pg-password").write_text(PASSWORD + "\n", encoding="utf-8")
    deployment = deployment_file(tmp_path, county, "password_file: secrets/pg-password")
    code, _, err = run(deployment, tmp_path)
    assert code == ExitCode.OK, err


def test_pgpassword_with_a_url_without_one(county, no_libpq_password, monkeypatch, tmp_path):
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    code, _, err = run(deployment_file(tmp_path, county), tmp_path)
    assert code == ExitCode.OK, err


def test_pgpass_file_with_a_url_without_one(county, no_libpq_password, monkeypatch, tmp_path):
    parts = urlsplit(county)
    escaped = PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{parts.hostname}:{parts.port}:*:{parts.username}:{escaped}\n", "utf-8")
    pgpass.chmod(0o600)  # libpq ignores a password file others can read
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    code, _, err = run(deployment_file(tmp_path, county), tmp_path)
    assert code == ExitCode.OK, err


def test_a_wrong_password_is_refused_and_not_shown(county, role, no_libpq_password, tmp_path):
    if not role[1]:
        pytest.skip("this server does not demand the role's password")
    wrong = PASSWORD[::-1]
    mask(wrong)  # what oversight does with the URL's own password, done ahead: see FORMS
    url = with_password(county, wrong)
    code, out, err = run(deployment_file(tmp_path, url), tmp_path)
    assert code in {ExitCode.WAREHOUSE_UNREACHABLE, ExitCode.PERMISSION_DENIED}
    assert "password authentication failed" in err, err
    for text, where in ((err, "stderr"), (out, "stdout")):
        for form in (wrong, quote(wrong, safe="")):
            assert form not in text, f"the wrong password is in {where}: {text}"
    manifest = (tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert quote(wrong, safe="") not in manifest and "***" in manifest


# ---- nothing written holds it -------------------------------------------------------------------


@pytest.mark.parametrize("how", ["password_env", "password_file", "url"])
def test_no_password_in_the_manifest_logs_report_or_ledger(
    how, county, postgres_database, no_libpq_password, monkeypatch, tmp_path
):
    if how == "password_env":
        monkeypatch.setenv("COUNTY_PG_PASSWORD", PASSWORD)
        deployment = deployment_file(tmp_path, county, "password_env: COUNTY_PG_PASSWORD")
    elif how == "password_file":
        (tmp_path / "pw").write_text(PASSWORD, encoding="utf-8")
        deployment = deployment_file(tmp_path, county, f"password_file: {tmp_path / 'pw'}")
    else:  # written in the URL itself, percent-encoded: not for git, but it must not leak
        deployment = deployment_file(tmp_path, with_password(county, PASSWORD))
    code, out, err = run(deployment, tmp_path, "--log-format", "json")
    assert code == ExitCode.OK, err
    report = tmp_path / "report.html"
    code, report_out, report_err = oversight(
        "report", "--period", "2021Q4", "--deployment", str(deployment), "--output", str(report)
    )
    assert code == ExitCode.OK, report_err
    warehouse = connect(postgres_database)  # as the server's superuser: read what was stored
    try:
        stored = warehouse.query("SELECT manifest FROM oversight_runs").column(0).to_pylist()
    finally:
        warehouse.close()
    assert len(stored) == 1
    events = [json.loads(line) for line in err.splitlines()]
    started = next(e for e in events if e["event"] == "run.started")
    written = county if how != "url" else redact(with_password(county, PASSWORD))
    assert started["warehouse"] == written  # the URL as written, its own password hidden
    for text, where in (
        ((tmp_path / "manifest.json").read_text(encoding="utf-8"), "the manifest"),
        (out, "stdout"),
        (err, "the JSON log"),
        (report_out + report_err, "report's output"),
        (report.read_text(encoding="utf-8"), "the report"),
        (stored[0], "the runs table's manifest"),
    ):
        assert_no_password(text, where)


# ---- the deployment file's mistakes, and the password's place kept, not the password --------


def diagnostics_of(deployment: Path, pack) -> str:
    """What the file gets: on loading, or just before its warehouse is opened."""
    with pytest.raises(DiagnosticError) as raised:
        api.warehouse_url(None, load_deployment(deployment, pack.pack))
    return render_human(raised.value.diagnostics)


PG = "postgresql://county@db.example:5432/county"


@pytest.mark.parametrize(
    ("lines", "code", "said"),
    [
        (
            ["password_env: COUNTY_PG_PASSWORD", "password_file: pw"],
            "deployment.yaml:3:1: error[E625]",
            "give password_env or password_file, not both",
        ),
        (
            ["password_env: NOT_SET_ANYWHERE_4711"],
            "deployment.yaml:2:1: error[E626]",
            "the environment variable NOT_SET_ANYWHERE_4711 is not set",
        ),
        (
            ["password_env: EMPTY_PASSWORD_4711"],
            "deployment.yaml:2:1: error[E626]",
            "the environment variable EMPTY_PASSWORD_4711 is empty",
        ),
        (["password_env: 'no name'"], "deployment.yaml:2:1: error[E626]", "must name"),
        (["password_file: missing.txt"], "deployment.yaml:2:1: error[E626]", "no password file"),
        (["password_file: empty.txt"], "deployment.yaml:2:1: error[E626]", "is empty"),
        (["password_file: folder"], "deployment.yaml:2:1: error[E626]", "cannot read"),
    ],
)
def test_deployment_mistakes(lines, code, said, pack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NOT_SET_ANYWHERE_4711", raising=False)
    monkeypatch.setenv("EMPTY_PASSWORD_4711", "")
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    rendered = diagnostics_of(deployment_file(Path("."), PG, *lines), pack)
    assert rendered.startswith(code), rendered
    assert said in rendered, rendered


def test_a_password_in_the_url_and_a_place_is_refused_without_showing_it(
    pack, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUNTY_PG_PASSWORD", PASSWORD)
    url = "postgresql://county:hunter2-secret@db.example:5432/county"
    rendered = diagnostics_of(
        deployment_file(Path("."), url, "password_env: COUNTY_PG_PASSWORD"), pack
    )
    assert rendered.startswith("deployment.yaml:2:1: error[E625]"), rendered
    assert "hunter2-secret" not in rendered  # the caret is on the key, not the URL's line


def test_a_warehouse_without_passwords_takes_none(pack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COUNTY_PG_PASSWORD", PASSWORD)
    for url in ("duckdb:///county.duckdb", "sqlite:///county.sqlite", "spark:///warehouse"):
        rendered = diagnostics_of(
            deployment_file(Path("."), url, "password_env: COUNTY_PG_PASSWORD"), pack
        )
        assert rendered.startswith("deployment.yaml:2:1: error[E627]"), rendered


def test_the_deployment_keeps_the_place_not_the_password(pack, tmp_path, monkeypatch):
    monkeypatch.setenv("COUNTY_PG_PASSWORD", PASSWORD)
    deployment = load_deployment(
        deployment_file(tmp_path, PG, "password_env: COUNTY_PG_PASSWORD"), pack.pack
    )
    assert deployment.password == PasswordSource(env="COUNTY_PG_PASSWORD")
    url = api.warehouse_url(None, deployment)
    assert isinstance(url, WarehouseURL) and url == PG
    for shown in (repr(deployment), str(deployment), repr(url), str(url), f"{url}"):
        assert_no_password(shown, "a printed deployment or URL")


# ---- the one redaction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://county:{PASSWORD}@db.example:5432/county",
        f"postgresql://county:{quote(PASSWORD, safe='')}@db.example:5432/county",
        f"postgresql://db.example/county?user=county&password={quote(PASSWORD, safe='')}",
        f"adbc+flightsql://county:{quote(PASSWORD, safe='')}@db.example:31337?dialect=trino",
    ],
)
def test_redact_takes_the_password_out_encoded_or_not(url):
    shown = redact(url)
    assert "***" in shown and "db.example" in shown
    assert_no_password(shown, "a redacted URL")
    assert_no_password(scrub(f"cannot connect to {url}: refused"), "a scrubbed text")


def test_scrub_takes_a_password_it_was_told_of_out_of_any_text():
    secret = "k9#Zq@wl 7/ü"
    text = f"driver said: bad password {secret!r} or {quote(secret, safe='')}"
    assert secret in scrub(text)  # not told yet: it is no URL, nothing marks it
    mask(secret)
    assert secret not in scrub(text) and quote(secret, safe="") not in scrub(text)


def test_the_password_written_into_the_url_reaches_the_driver_whole():
    url = with_password("postgresql://county@db.example:5432/county?sslmode=prefer", PASSWORD)
    parts = urlsplit(url)
    assert (parts.hostname, parts.port, parts.username) == ("db.example", 5432, "county")
    assert parts.query == "sslmode=prefer"
    assert unquote(parts.password) == PASSWORD


def test_a_url_without_a_user_gets_the_password_alone():
    url = with_password("postgresql://db.example/county", "pw:1")
    assert url == "postgresql://:pw%3A1@db.example/county"
    assert os.path.basename(urlsplit(url).path) == "county"


def test_a_driver_that_echoes_its_connection_string_is_scrubbed(monkeypatch):
    """adapters.connect hands the driver the URL with the password; what it says back is shown
    without it, raw or percent-encoded, and the warehouse opened keeps the URL as written."""
    import adapters.registry
    from adapters.base import WarehouseUnreachable

    secret = "Echo:me/if#you?can 42"
    monkeypatch.setenv("ECHOED_PASSWORD", secret)
    handed = []

    def echoing(url: str, read_only: bool = False, must_exist: bool = False):
        handed.append(url)
        raise WarehouseUnreachable("无法连接", f"bad URI {url} (password {secret})")

    monkeypatch.setattr(adapters.registry, "opener", lambda url: echoing)
    url = WarehouseURL(
        "postgresql://county@db.example/county", PasswordSource(env="ECHOED_PASSWORD")
    )
    with pytest.raises(WarehouseUnreachable) as raised:
        connect(url)
    assert unquote(urlsplit(handed[0]).password) == secret
    for form in (secret, quote(secret, safe="")):
        assert form not in str(raised.value) and form not in raised.value.message_en
    assert "postgresql://county:***@db.example/county" in str(raised.value)


def test_commands_that_open_no_warehouse_need_no_password(tmp_path, monkeypatch):
    """A policy repository's CI compiles with the county's deployment, and has no password."""
    monkeypatch.delenv("NOT_SET_ANYWHERE_4711", raising=False)
    deployment = deployment_file(tmp_path, PG, "password_env: NOT_SET_ANYWHERE_4711")
    for command in (
        ["compile", "--dialect", "postgres", "--out", str(tmp_path / "sql"), "--select", "ENG01"],
        ["explain", "ENG01", "--dialect", "postgres"],
        ["param", "list"],
        ["grants"],  # the DBA's script: what the URL names, nothing opened
    ):
        code, _, err = oversight(*command, "--deployment", str(deployment))
        assert code == ExitCode.OK, (command, err)
    for command in (["run", "--as-of", "2021-11-15"], ["grants", "--check"]):
        code, _, err = oversight(*command, "--deployment", str(deployment))
        assert code == ExitCode.INVALID_POLICY, (command, err)
        assert "error[E626]" in err and "NOT_SET_ANYWHERE_4711 is not set" in err
