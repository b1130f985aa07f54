"""What a least-privilege role needs on the warehouse, per purpose, and the script a DBA runs.

A county's DBA gives the engine no more than it uses: SELECT on the departments'
tables it reads, and a schema of its own for its ledger. `needs` lists every privilege
a pack and a deployment call for, each with why (the models that read a source
table, the ledger, the runs table, the pre-check audit) and the commands that use it,
as those commands really read and write (engine/api.py, engine/runs/ledger.py,
engine/service/precheck.py). `grant_statements` turns them into what the DBA runs:
on PostgreSQL the engine's own schema and tables (made ahead, so the role needs no
CREATE) and GRANT statements, each a sqlglot tree; for DuckDB and SQLite, which have
no roles, what the operating system must let the account do with the file.
`oversight grants` prints them; `--check` asks the warehouse which are missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from sqlglot import exp

from adapters import connect
from adapters.base import PermissionDenied, Warehouse, WarehouseError
from adapters.names import statement, table_named
from adapters.privileges import Privilege, journal_folder, missing
from adapters.registry import scheme
from dsl import ir
from engine.index.disposal import DISPOSAL
from engine.policy.deployment import Deployment
from engine.runs import ledger
from engine.runs.manifest import redact
from engine.runs.run import select_models

COMMANDS = ("run", "sources", "score", "report", "advise", "warnings", "diff", "precheck", "serve")
"""The commands that open the warehouse, in the order the report lists them."""

STAFFING = "town_staffing"
TOWNSHIPS = "ref_township"
_LEDGER_READERS = ("score", "report", "advise", "warnings")
INDEX_COMMANDS = ("score", "report", "advise")
"""The commands that compute the index (advise: with --out, for the drafts' colours)."""

ENGINE_TABLES = {ledger.LEDGER: "ledger", ledger.RUNS: "runs", ledger.PRECHECKS: "prechecks"}
"""The engine's own tables by the short name a report gives them."""

DEFAULT_SCHEMA = "public"
"""PostgreSQL's schema for an unqualified name when the role has none of its own."""

EMBEDDED = ("duckdb", "sqlite")


@dataclass(frozen=True)
class Need:
    """One privilege the engine's role needs, why, and which commands use it.

    `models`: the models that cannot run without it (those reading a source table,
    every model for the database or the file); `sources`: the catalog's sources kept in
    that table; `engine_table`: ledger, runs or prechecks for the engine's own tables.
    """

    privilege: Privilege
    why: str
    commands: tuple[str, ...]
    models: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    engine_table: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "privilege": self.privilege.to_json(),
            "why": self.why,
            "commands": list(self.commands),
            "models": list(self.models),
            "sources": list(self.sources),
            "engine_table": self.engine_table,
        }


@dataclass
class _Gathered:
    """A need while `needs` collects it: reasons, commands and models from each purpose."""

    privilege: Privilege
    why: list[str] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)
    engine_table: str | None = None

    def need(self) -> Need:
        return Need(
            self.privilege,
            "；".join(self.why),
            tuple(c for c in COMMANDS if c in self.commands),
            tuple(sorted(self.models)),
            tuple(self.sources),
            self.engine_table,
        )


class _Needs:
    """Needs in the order first asked for, one per privilege, reasons merged."""

    def __init__(self) -> None:
        self.gathered: dict[Privilege, _Gathered] = {}

    def add(
        self,
        privilege: Privilege,
        why: str,
        commands: Iterable[str],
        models: Iterable[str] = (),
        source: str | None = None,
        engine_table: str | None = None,
    ) -> None:
        entry = self.gathered.setdefault(privilege, _Gathered(privilege))
        if why and why not in entry.why:
            entry.why.append(why)
        entry.commands.update(commands)
        entry.models.update(models)
        if source is not None and source not in entry.sources:
            entry.sources.append(source)
        entry.engine_table = entry.engine_table or engine_table

    def needs(self) -> list[Need]:
        return [g.need() for g in self.gathered.values()]


def dialect_of(url: str) -> str:
    """The warehouse's SQL dialect from its URL alone: no connection is needed to print a script."""
    kind = scheme(url)
    if kind in ("postgresql", "postgres"):
        return "postgres"
    if kind == "adbc":
        return parse_qs(urlparse(url).query).get("dialect", ["adbc"])[0]
    return kind


def role_of(url: str) -> str | None:
    """The user a warehouse URL logs in as (postgresql://ov@host/db → ov), if it names one."""
    user = urlparse(url).username
    return unquote(user) if user else None


def database_of(url: str) -> str | None:
    """The database a server URL names (postgresql://…/county → county).

    libpq's default, when the URL names none, is the user's name.
    """
    path = urlparse(url).path.lstrip("/")
    return unquote(path) if path else role_of(url)


def embedded_file(url: str) -> str:
    """The absolute path of a DuckDB or SQLite warehouse's file (":memory:" in memory)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    rest = rest.split("?", 1)[0]
    if rest.startswith("/"):
        rest = rest[1:]
    if not rest or rest == ":memory:":
        return ":memory:"
    return str(Path(rest).resolve())


def qualified(name: str, schema: str | None) -> str:
    """`name` with `schema` in front when it has none (PostgreSQL's current schema)."""
    return name if "." in name or not schema else f"{schema}.{name}"


def engine_schema(deployment: Deployment, default_schema: str | None) -> str | None:
    """The schema of the engine's own tables: `ledger_schema:`, else the role's current one."""
    return deployment.ledger_schema or default_schema


def needs(
    pack: ir.CheckedPack,
    deployment: Deployment,
    dialect: str,
    url: str,
    default_schema: str | None = DEFAULT_SCHEMA,
) -> list[Need]:
    """Every privilege the engine's role needs for `pack` on the warehouse at `url`.

    Table names are the physical ones (the deployment's `tables:`); on PostgreSQL an
    unqualified one is in `default_schema`, the role's current schema (public unless a
    schema named after the role exists: `--check` asks). DuckDB and SQLite need reading
    and writing of a file instead (`_file_needs`).
    """
    if scheme(url) in EMBEDDED:
        return _file_needs(pack, scheme(url), url)
    schema = default_schema if dialect == "postgres" else None
    found = _Needs()
    models = select_models(pack)
    every = [m.id for m in models]
    database = database_of(url)
    if dialect == "postgres" and database:
        found.add(
            Privilege("CONNECT", "database", database),
            "连接数据库 / to connect",
            COMMANDS,
            every,
        )
    tables = _source_tables(pack, deployment, models, schema)
    engine = engine_schema(deployment, schema)
    for table in tables:
        if "." in table.physical:
            found.add(
                Privilege("USAGE", "schema", table.physical.rsplit(".", 1)[0]),
                "来源表所在的模式 / the schema of source tables",
                table.commands,
                table.models,
            )
    if engine:
        found.add(
            Privilege("USAGE", "schema", engine),
            "引擎自己的表（台账、运行记录、预检审计）所在的模式 / the schema of the engine's own "
            "tables (ledger, runs, pre-check audit)",
            (*_LEDGER_READERS, "run", "sources", "precheck", "serve"),
        )
    for table in tables:
        found.add(
            Privilege("SELECT", "table", table.physical),
            table.why,
            table.commands,
            table.models,
            table.source,
        )
    _engine_table_needs(found, ledger.Tables(engine))
    if dialect == "postgres" and database:
        found.add(
            Privilege("TEMPORARY", "database", database),
            "score、report、advise 用 --disposal 文件（或数据仓库没有 sup_disposal）时把处置记录"
            "放进一张临时表，会话结束即消失 / score, report and advise put --disposal FILE's "
            "records (or none, when the warehouse has no sup_disposal) in a temporary table",
            INDEX_COMMANDS,
        )
        found.add(
            Privilege("TEMPORARY", "database", database),
            "run、diff 把几个模型共读的关系（official_circle 等）每次运行只算一次，放进临时表；"
            "没有此权限时各模型各自计算，结果相同但更慢 / run and diff compute a relation "
            "that several models read (official_circle …) once per run, into a temporary "
            "table; without it each model computes it itself: the same warnings, slower",
            ("run", "diff"),
        )
    return found.needs()


def _engine_table_needs(found: _Needs, tables: ledger.Tables) -> None:
    """The engine's own tables: what run, the index's commands and pre-checks do to them."""
    name = tables.name(ledger.LEDGER)
    for action, why, commands in (
        (
            "SELECT",
            "run 判断哪些预警是新的；score、report、advise、warnings 读台账 / run finds which "
            "warnings are new; score, report, advise and warnings read the ledger",
            ("run", *_LEDGER_READERS),
        ),
        ("INSERT", "run 记入新预警 / run records new warnings", ("run",)),
        (
            "UPDATE",
            "run 更新再次出现的预警的 last_seen_on / run moves last_seen_on of warnings "
            "raised again",
            ("run",),
        ),
    ):
        found.add(Privilege(action, "table", name), why, commands, engine_table="ledger")
    name = tables.name(ledger.RUNS)
    found.add(
        Privilege("SELECT", "table", name),
        "上次运行记下的各来源行数（新增行数）/ the rows the previous run saw (rows added since)",
        ("run", "sources"),
        engine_table="runs",
    )
    found.add(
        Privilege("INSERT", "table", name),
        "每次运行一行，含运行清单 / one row per run, with its manifest",
        ("run",),
        engine_table="runs",
    )
    found.add(
        Privilege("INSERT", "table", tables.name(ledger.PRECHECKS)),
        "预检审计：谁问了什么、得到什么答复 / the pre-check audit: who asked about what, and "
        "what they were told",
        ("precheck", "serve"),
        engine_table="prechecks",
    )


@dataclass(frozen=True)
class _SourceTable:
    source: str
    physical: str
    why: str
    commands: tuple[str, ...]
    models: tuple[str, ...]


def _source_tables(
    pack: ir.CheckedPack, deployment: Deployment, models: list[ir.Model], schema: str | None
) -> list[_SourceTable]:
    """Each catalog source's table, who reads it and why, in the catalog's order.

    Every command that checks the sources' health (run, sources, report) counts the
    rows of each one; the models read theirs (run, diff, and precheck and serve for
    the models that take part in pre-checks); the index reads the staffing, the
    disposal records and the townships' names.
    """
    tables = []
    for name in pack.pack.sources:
        readers = [m for m in models if name in m.sources]
        commands = {"run", "sources", "report"}
        reasons = []
        if readers:
            commands.add("diff")
            if any(m.precheck for m in readers):
                commands.update(("precheck", "serve"))
            ids = ", ".join(m.id for m in readers)
            reasons.append(f"模型 {ids} 读取 / read by models {ids}")
        if name == STAFFING:
            commands.update(INDEX_COMMANDS)
            reasons.append("廉情指数按在岗人数计算 / the index counts per staff member")
        if name == DISPOSAL:
            commands.update((*INDEX_COMMANDS, "warnings"))
            reasons.append(
                "预警的核查处置（未用 --disposal 文件时）/ the warnings' disposal (unless "
                "--disposal FILE)"
            )
        if name == TOWNSHIPS:
            commands.update(INDEX_COMMANDS)
            reasons.append("乡镇名称 / the townships' names")
        if not reasons:
            reasons.append(
                "来源体检（行数、最新日期）/ the sources' health check (rows, latest date)"
            )
        physical = qualified(deployment.tables.get(name, name), schema)
        tables.append(
            _SourceTable(
                name,
                physical,
                f"来源 {name}：" + "；".join(reasons),
                tuple(c for c in COMMANDS if c in commands),
                tuple(m.id for m in readers),
            )
        )
    return tables


def _file_needs(pack: ir.CheckedPack, kind: str, url: str) -> list[Need]:
    """DuckDB and SQLite: the file read by every command, written (with its folder) by some.

    DuckDB opens the file for writing for every command that may write (run, unless
    --no-ledger; precheck and serve, for the audit), and writes a write-ahead log
    (FILE.wal) beside it; SQLite writes a journal beside the file when it writes at
    all (run's ledger, the pre-check audit, score's temporary table).
    """
    path = embedded_file(url)
    every = [m.id for m in select_models(pack)]
    found = _Needs()
    found.add(
        Privilege("READ", "file", path),
        "数据仓库文件：来源表和台账都在其中 / the warehouse: its source tables and the ledger",
        COMMANDS,
        every,
    )
    if path == ":memory:":
        return found.needs()
    writers = ("run", "score", "report", "advise", "precheck", "serve")
    if kind == "duckdb":
        why = (
            "run 记台账、预检审计；DuckDB 为这些命令以读写方式打开文件（run --no-ledger 只读）/ "
            "run's ledger, the pre-check audit; DuckDB opens the file for writing for these "
            "commands (run --no-ledger only reads)"
        )
        journal = f"DuckDB 在文件旁建预写日志 {Path(path).name}.wal / DuckDB's write-ahead log"
    else:
        why = "run 记台账、预检审计 / run's ledger, the pre-check audit"
        journal = f"SQLite 在文件旁建日志 {Path(path).name}-journal / SQLite's journal"
    found.add(Privilege("WRITE", "file", path), why, writers)
    found.add(Privilege("WRITE", "folder", journal_folder(path)), journal, writers)
    return found.needs()


# ---- the script ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One statement of the script with the comment lines above it (none for a bare one)."""

    comment: tuple[str, ...]
    sql: str | None  # None: a comment only (what DuckDB and SQLite need)

    def to_json(self) -> dict[str, Any]:
        return {"comment": list(self.comment), "sql": self.sql}


def grant_statements(
    needs: list[Need],
    role: str,
    dialect: str,
    deployment: Deployment,
    url: str,
    default_schema: str | None = DEFAULT_SCHEMA,
) -> list[Statement]:
    """The statements of the DBA's script, each a sqlglot tree rendered for `dialect`.

    PostgreSQL: CREATE SCHEMA and the engine's CREATE TABLEs (IF NOT EXISTS: the script
    can be run again after a new pack version), then the GRANTs, one per object, with
    why. DuckDB and SQLite: comments only.
    """
    if scheme(url) in EMBEDDED or dialect != "postgres":
        return _listed(needs)
    statements: list[Statement] = []
    engine = engine_schema(deployment, default_schema)
    tables = ledger.Tables(engine)
    if deployment.ledger_schema:
        create = ledger.create_schema(tables)
        assert create is not None
        create.set("exists", True)
        statements.append(
            Statement(
                (
                    f"引擎自己的模式 {engine}（部署文件的 ledger_schema:）/ the engine's own "
                    f"schema (the deployment's ledger_schema:)",
                ),
                statement(create, dialect),
            )
        )
    for name, short in ENGINE_TABLES.items():
        create = ledger.create_table(tables, name)
        create.set("exists", True)
        statements.append(
            Statement(
                (
                    f"引擎的{_ENGINE_TABLE_ZH[short]}表，预先建好，角色无需 CREATE 权限 / the "
                    f"engine's {short} table, made ahead: the role needs no CREATE",
                ),
                statement(create, dialect),
            )
        )
    # One GRANT per object; CREATE on its own line, so that a DBA who reads the disposal
    # records only from sup_disposal can leave it out.
    by_object: dict[tuple[str, str, bool], list[Need]] = {}
    for need in needs:
        p = need.privilege
        by_object.setdefault((p.kind, p.name, p.action == "CREATE"), []).append(need)
    for (kind, name, _), group in by_object.items():
        grant = exp.Grant(
            privileges=[exp.GrantPrivilege(this=exp.var(n.privilege.action)) for n in group],
            kind=kind.upper(),
            securable=_securable(kind, name),
            principals=[exp.GrantPrincipal(this=exp.to_identifier(role, quoted=True))],
        )
        comment = tuple(f"{n.privilege.action}: {n.why}（{', '.join(n.commands)}）" for n in group)
        statements.append(Statement(comment, statement(grant, dialect)))
    return statements


_ENGINE_TABLE_ZH = {"ledger": "台账", "runs": "运行记录", "prechecks": "预检审计"}


def _securable(kind: str, name: str) -> exp.Table:
    """The object of a GRANT: a table split on its dots, a schema or database named whole."""
    if kind == "table":
        return table_named(name)
    # A database's name comes from the URL as it is spelled: its case is kept.
    return exp.Table(this=exp.to_identifier(name, quoted=kind == "database"))


def _listed(needs: list[Need]) -> list[Statement]:
    """What a warehouse without PostgreSQL's GRANTs needs, as comment lines for people."""
    lines = []
    for need in needs:
        lines.append(need.privilege.text())
        lines.append(f"  {need.why}（{', '.join(need.commands)}）")
    return [Statement(tuple(lines), None)]


def grant_script(
    needs: list[Need],
    role: str,
    dialect: str,
    deployment: Deployment,
    url: str,
    default_schema: str | None = DEFAULT_SCHEMA,
) -> str:
    """The commented script a DBA runs (PostgreSQL), or reads (DuckDB, SQLite)."""
    statements = grant_statements(needs, role, dialect, deployment, url, default_schema)
    lines = [f"-- {line}" for line in _header(role, dialect, deployment, url, default_schema)]
    for item in statements:
        lines.append("")
        lines += [f"-- {line}" for line in item.comment]
        if item.sql is not None:
            lines.append(item.sql + ";")
    return "\n".join(lines) + "\n"


def _header(
    role: str, dialect: str, deployment: Deployment, url: str, default_schema: str | None
) -> list[str]:
    if scheme(url) in EMBEDDED:
        return _file_header(scheme(url), role, url)
    if dialect != "postgres":
        return [
            f"oversight grants 只为 PostgreSQL、DuckDB、SQLite 写出语句；{dialect} 所需如下，"
            f"请按该数据仓库的语法授予 / oversight writes the statements for PostgreSQL, DuckDB "
            f"and SQLite only; what {dialect} needs, to grant in its own terms:"
        ]
    database = database_of(url) or "?"
    lines = [
        f"oversight grants：角色 {role} 在数据库 {database} 上所需的最小权限 / what the role "
        f"{role} needs on database {database}, and no more",
        "由数据库属主（或超级用户）执行 / run as the database owner (or a superuser), e.g.",
        f"  psql -v ON_ERROR_STOP=1 -d {database} -f grants.sql",
        "本脚本不建角色；尚未建时先执行（口令不写在文件里，见部署文件的 password_env:）/ the role "
        "itself is not made here; if it does not exist yet:",
        f'  CREATE ROLE "{role}" LOGIN;',
        "来源表须已存在：缺的表 GRANT 会失败（见 oversight sources）/ every source table must "
        "exist: the GRANT of a missing one fails (see oversight sources)",
        "CONNECT、public 的 USAGE 默认已授予 PUBLIC；若已收回，以下语句再授予 / CONNECT and "
        "USAGE on public are PUBLIC's by default; the lines below grant them where revoked",
    ]
    if not deployment.ledger_schema:
        lines += [
            "注意：部署文件未设 ledger_schema:，引擎的表放在角色的当前模式 "
            f"({default_schema}) 里 / NOTE: the deployment sets no ledger_schema:, so the "
            f"engine's tables go in the role's current schema ({default_schema}).",
            "建议在部署文件中写 ledger_schema: oversight，让引擎的表在自己的模式里 / set "
            "ledger_schema: oversight in the deployment to keep them in a schema of their own",
        ]
    return lines


def _file_header(kind: str, role: str, url: str) -> list[str]:
    name = "DuckDB" if kind == "duckdb" else "SQLite"
    path = embedded_file(url)
    who_zh = f"账户 {role}" if role else "运行 oversight 的账户"
    who_en = f"the account {role}" if role else "the account that runs oversight"
    lines = [
        f"oversight grants：{name} 数据仓库 {path} / the {name} warehouse {path}",
        f"{name} 没有角色和 GRANT：引擎能做什么，取决于操作系统允许{who_zh}对文件做什么 / "
        f"{name} has no roles and no GRANT: the engine may do what the operating system lets "
        f"{who_en} do with the file.",
        "无法把引擎限制在文件内的某个模式：能写这个文件，就能写其中每张表 / the engine cannot be "
        "limited to a schema inside one file: an account that may write the file may write "
        "every table in it.",
        "文件属主不许写入时，给只读权限，用 oversight run --no-ledger 试运行（不记台账）"
        "/ where the owner forbids writes, give read only and use oversight run "
        "--no-ledger (a dry run: nothing recorded)",
        "所需 / needed:",
    ]
    return lines


def document(
    needs: list[Need],
    role: str,
    dialect: str,
    deployment: Deployment,
    url: str,
    default_schema: str | None = DEFAULT_SCHEMA,
) -> dict[str, Any]:
    """The JSON form: the needs, and the same statements as the script, in its order."""
    statements = grant_statements(needs, role, dialect, deployment, url, default_schema)
    return {
        "dialect": dialect,
        "role": role,
        "database": database_of(url) if scheme(url) not in EMBEDDED else embedded_file(url),
        "ledger_schema": deployment.ledger_schema,
        "engine_schema": engine_schema(deployment, default_schema)
        if dialect == "postgres"
        else deployment.ledger_schema,
        "needs": [n.to_json() for n in needs],
        "statements": [s.to_json() for s in statements],
    }


# ---- --check: what the connected role holds --------------------------------------------------


@dataclass(frozen=True)
class Inspection:
    """What `oversight grants --check` found: the needs, the missing ones, the absent tables.

    `missing` is None when the warehouse cannot tell (Spark, a generic ADBC driver).
    `absent` holds the tables (physical names) of the needs that do not exist: a
    source table not delivered (not a privilege: `oversight sources` reports it), or
    an engine table the DBA has not made (then the role needs CREATE to make it, and
    that need is among `needs`).
    """

    url: str
    dialect: str
    role: str | None
    needs: list[Need]
    missing: list[Privilege] | None
    absent: frozenset[str]

    @property
    def ok(self) -> bool:
        """Whether every privilege needed is held (or the warehouse cannot tell)."""
        return not self.missing

    def refused(self, need: Need) -> bool:
        return self.missing is not None and need.privilege in self.missing

    def models(self, pack: ir.CheckedPack) -> list[dict[str, Any]]:
        """Per active model: whether it can run, the privileges it lacks, its absent tables."""
        rows = []
        for model in select_models(pack):
            own = [n for n in self.needs if model.id in n.models]
            lacking = [n.privilege for n in own if self.refused(n)]
            gone = sorted(
                n.privilege.name
                for n in own
                if n.privilege.kind == "table" and n.privilege.name in self.absent
            )
            rows.append(
                {
                    "model": model.id,
                    "title": model.title,
                    "can_run": not lacking and not gone,
                    "missing": [p.to_json() for p in lacking],
                    "absent_tables": gone,
                }
            )
        return rows

    def sources(self) -> list[dict[str, Any]]:
        """Per source table: its sources, whether it exists, whether it may be read."""
        rows = []
        for need in self.needs:
            p = need.privilege
            if not need.sources or p.kind != "table":
                continue
            exists = p.name not in self.absent
            rows.append(
                {
                    "table": p.name,
                    "sources": list(need.sources),
                    "exists": exists,
                    "read": None if self.missing is None or not exists else not self.refused(need),
                    "models": list(need.models),
                }
            )
        return rows

    def engine_tables(self) -> list[dict[str, Any]]:
        """Per engine table (ledger, runs, prechecks): exists, and each action it needs, held."""
        rows: dict[str, dict[str, Any]] = {}
        for need in self.needs:
            if need.engine_table is None:
                continue
            p = need.privilege
            row = rows.setdefault(
                need.engine_table,
                {
                    "table": need.engine_table,
                    "name": p.name,
                    "exists": p.name not in self.absent,
                    "read": None,
                    "insert": None,
                    "update": None,
                },
            )
            held = None if self.missing is None or not row["exists"] else not self.refused(need)
            row[{"SELECT": "read", "INSERT": "insert", "UPDATE": "update"}[p.action]] = held
        return list(rows.values())

    def commands(self) -> list[dict[str, Any]]:
        """Per command: the privileges it needs that the role lacks."""
        return [
            {
                "command": command,
                "missing": [
                    n.privilege.to_json()
                    for n in self.needs
                    if command in n.commands and self.refused(n)
                ],
            }
            for command in COMMANDS
        ]

    def to_json(self, pack: ir.CheckedPack) -> dict[str, Any]:
        return {
            "warehouse": redact(self.url),
            "dialect": self.dialect,
            "role": self.role,
            "ok": self.ok,
            "can_tell": self.missing is not None,
            "missing": [p.to_json() for p in self.missing or []],
            "models": self.models(pack),
            "source_tables": self.sources(),
            "engine_tables": self.engine_tables(),
            "commands": self.commands(),
        }


def inspect(
    warehouse: Warehouse, pack: ir.CheckedPack, deployment: Deployment, url: str
) -> Inspection:
    """Ask the warehouse which of the needs of `pack` the connected role lacks.

    On PostgreSQL the role's current schema names the unqualified tables, as the
    engine's own queries would read them; an engine table that is not there yet
    would be made by the first run or pre-check, which then needs CREATE on its schema
    (or, with the schema not there either, on the database).
    """
    dialect = warehouse.dialect
    default_schema = _current_schema(warehouse) if dialect == "postgres" else None
    found = needs(pack, deployment, dialect, url, default_schema)
    tables = {n.privilege.name for n in found if n.privilege.kind == "table"}
    absent = frozenset(t for t in tables if not warehouse.has_table(t))
    engine = engine_schema(deployment, default_schema)
    unmade = [
        n.engine_table for n in found if n.engine_table is not None and n.privilege.name in absent
    ]
    if dialect == "postgres" and unmade and engine:
        why = (
            "引擎的表尚未建好，首次 run 或预检会建它们 / the engine's tables are not made yet: "
            "the first run or pre-check makes them"
        )
        on = (
            Privilege("CREATE", "schema", engine)
            if warehouse.has_schema(engine)
            else Privilege("CREATE", "database", str(database_of(url)))
        )
        found = _merged(found, Need(on, why, ("run", "precheck", "serve")))
    lacking = missing(warehouse, [n.privilege for n in found])
    return Inspection(url, dialect, role_of(url), found, lacking, absent)


def lacking(
    warehouse: Warehouse, pack: ir.CheckedPack, deployment: Deployment, url: str, command: str
) -> list[Need] | None:
    """The needs of `command` (run, score, …) the connected role lacks; None: cannot tell.

    For naming what a refused statement was missing. On PostgreSQL call it outside a
    failed transaction (after its rollback): the catalog is asked on the same connection.
    """
    found = inspect(warehouse, pack, deployment, url)
    if found.missing is None:
        return None
    return [n for n in found.needs if command in n.commands and found.refused(n)]


def _current_schema(warehouse: Warehouse) -> str:
    """The schema PostgreSQL puts an unqualified name in for this role (public by default)."""
    query = exp.select(exp.alias_(exp.Anonymous(this="current_schema"), "s"))
    found = warehouse.query(statement(query, warehouse.dialect)).column(0)[0].as_py()
    return str(found or DEFAULT_SCHEMA)


def _merged(found: list[Need], more: Need) -> list[Need]:
    """`found` with `more` added, or merged into the need of the same privilege."""
    for at, need in enumerate(found):
        if need.privilege == more.privilege:
            commands = set(need.commands) | set(more.commands)
            merged = replace(
                need,
                why=f"{need.why}；{more.why}",
                commands=tuple(c for c in COMMANDS if c in commands),
            )
            return [*found[:at], merged, *found[at + 1 :]]
    return [*found, more]


GRANTS_HINT = (
    "请数据库管理员授予；oversight grants 列出全部授权语句，oversight grants --check 逐项核对",
    "a DBA grants it: `oversight grants` prints every statement, `oversight grants --check` "
    "checks each one",
)


class Refused(PermissionDenied):
    """A refused privilege, said once: what `command` lacks, asked of the catalog.

    The warehouse says *that* it refused (SQLSTATE 42501, which the adapter reads as
    PermissionDenied); *what* is missing comes from the catalog (`lacking`), never from
    the error's wording. `lacking` is empty when the catalog could not tell (Spark, a
    file's permissions that look right, a grant made since): then the driver's first
    line is shown.
    """

    def __init__(self, command: str, lacking: list[Need], refused: PermissionDenied) -> None:
        self.command = command
        self.lacking = lacking
        hint_zh, hint_en = GRANTS_HINT
        if lacking:
            items_zh = "；".join(f"{n.privilege.text()}（{_needed_by(n)}）" for n in lacking)
            items_en = "; ".join(n.privilege.text() for n in lacking)
            zh = f"数据仓库拒绝了 oversight {command} 所需的权限，缺少 {items_zh}。{hint_zh}"
            en = (
                f"the warehouse refused a privilege `oversight {command}` needs: "
                f"missing {items_en}; {hint_en}"
            )
        else:
            first = (refused.message_en.splitlines() or [""])[0]
            zh = f"数据仓库以权限不足拒绝了 oversight {command}：{refused.message_zh}。{hint_zh}"
            en = (
                f"the warehouse refused a statement of `oversight {command}` for want of a "
                f"privilege ({first}); {hint_en}"
            )
        super().__init__(zh, en)


def _needed_by(need: Need) -> str:
    if need.engine_table:
        return f"引擎的 {need.engine_table} 表"
    if need.models:
        shown = "、".join(need.models[:5])
        more = f" 等 {len(need.models)} 个模型" if len(need.models) > 5 else ""
        return f"{shown}{more}读取"
    return need.why.split(" / ")[0]


def named_refusal(
    refused: PermissionDenied,
    command: str,
    pack: ir.CheckedPack,
    deployment: Deployment,
    url: str,
) -> PermissionDenied:
    """`refused`, saying what `command` lacks on the warehouse at `url` (as is, if it says).

    Asked on a connection of its own: the refused one may sit in an aborted
    transaction, or be closed already.
    """
    if isinstance(refused, Refused):
        return refused
    try:
        warehouse = connect(url)
        try:
            found = lacking(warehouse, pack, deployment, url, command) or []
        finally:
            warehouse.close()
    except WarehouseError:
        found = []
    return Refused(command, found, refused)
