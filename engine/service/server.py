"""`oversight serve`: the pre-check (运行端) as an HTTP service for the townships' own systems.

A township's finance, subsidy, housing or contract system posts the records
a clerk is about to approve and gets back the warnings approving them would
raise — the same function as `oversight precheck` and engine.api.precheck.

    POST /v1/precheck   {"source": "fin_payment", "records": [{…}], "as_of": "2021-08-20"}
    GET  /v1/models     the models, what they read, whether they take part in pre-checks
    GET  /v1/health     the pack version and whether the warehouse answers
    GET  /openapi.json  the API, with the fields of every source (nothing from the internet)

Starlette serves it (uvicorn runs it): small, well kept, and the API is
described from the pack's own catalog rather than from a second copy of it.

What a deployment needs from it:
- Bad input is a 4xx JSON answer with the engine's diagnostics (code,
  Chinese, English, the JSON path of the field); an unreachable warehouse is
  503, a request past its time limit 504. A body over the size limit is 413.
- Bearer tokens, from a file of `name: token` lines, are required whenever
  the server listens beyond loopback; the token's name is the caller written
  into the audit row of each pre-check.
- Each request borrows a connection of its own from a pool, so concurrent
  pre-checks never see each other's records (they never enter a table).
- The pack is re-read when its files change: a request takes the pack once,
  at its start, so it sees the old pack or the new one, never a mix. A pack
  that does not check is not taken; the old one stays, and /v1/health says why.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlglot import exp
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters import PermissionDenied, Warehouse, WarehouseError, connect
from adapters.base import QueryTimeout
from adapters.names import statement
from dsl import ir
from dsl.diagnostics import Diagnostic, DiagnosticError
from dsl.messages import Wording, diagnostic, message
from dsl.types import Type
from engine import api
from engine.access import named_refusal
from engine.policy.deployment import Deployment
from engine.runs.run import select_models
from engine.service import precheck as prechecks

MAX_BODY_BYTES = 4 * 1024 * 1024
"""A request body: 1,000 records of a wide source take well under a megabyte."""

REQUEST_SECONDS = 30.0
"""A pre-check query still running after this long is cancelled (504)."""

RELOAD_SECONDS = 1.0
"""How often, at most, the pack's files are looked at for changes."""

QUERY_THREADS = 1
"""DuckDB threads per query in the service: measured on 2 cores, one pre-check used about a
quarter less CPU on one thread than on two, and requests run side by side on the pool."""

_JSON_TYPES: dict[Type, dict[str, Any]] = {
    Type.STRING: {"type": "string"},
    Type.INT: {"type": ["integer", "string"], "description": "整数 whole number"},
    Type.DECIMAL: {
        "type": ["number", "string"],
        "description": '金额（元，最多两位小数）amount in yuan, e.g. 12345.60 or "12,345.60"',
    },
    Type.FLOAT: {"type": ["number", "string"]},
    Type.DATE: {"type": "string", "format": "date", "description": "2021-11-20"},
    Type.TIMESTAMP: {"type": "string", "description": "2021-11-20 14:30:00"},
    Type.BOOL: {"type": ["boolean", "string"], "description": "true/false, 是/否"},
}


class ServeError(Exception):
    """The server cannot start as configured (said in Chinese and English)."""


def read_tokens(path: Path) -> dict[str, str]:
    """Token → caller name, from lines `name: token` (# comments and blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ServeError(f"无法读取令牌文件 {path} / cannot read the tokens file: {exc}") from None
    tokens: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, colon, token = line.partition(":")
        name, token = name.strip(), token.strip()
        if not colon or not name or len(token) < 16:
            raise ServeError(
                f"{path}:{number}: 每行写作「名称: 令牌」，令牌至少 16 个字符 / "
                "each line is `name: token`, the token at least 16 characters"
            )
        if token in tokens:
            raise ServeError(f"{path}:{number}: 令牌重复 / a token is given twice")
        tokens[token] = name
    if not tokens:
        raise ServeError(f"令牌文件 {path} 中没有令牌 / no tokens in {path}")
    return tokens


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Pool:
    """Connections to the warehouse, one per request at a time."""

    def __init__(self, url: str, size: int, threads: int | None = None) -> None:
        self.url = url
        self.threads = threads
        self._idle: queue.LifoQueue[Warehouse] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def connection(self) -> Iterator[Warehouse]:
        with self._slots:
            try:
                warehouse = self._idle.get_nowait()
            except queue.Empty:
                warehouse = connect(self.url, must_exist=True)
                if warehouse.dialect == "duckdb" and self.threads:
                    # Set for the process's database, which its connections share: a
                    # pre-check's queries read few rows, and concurrent requests use the
                    # cores better than one query's threads, which cost CPU to start.
                    # https://duckdb.org/docs/stable/configuration/overview
                    warehouse.execute(f"SET threads = {int(self.threads)}")
            try:
                yield warehouse
            except WarehouseError:
                with suppress(Exception):  # a connection that failed is not lent again
                    warehouse.close()
                raise
            self._idle.put(warehouse)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


@dataclass(frozen=True)
class _Loaded:
    """One version of the pack, as checked: requests hold one of these from start to end."""

    pack: ir.CheckedPack
    stamp: tuple[tuple[str, int, int], ...]
    openapi: dict[str, Any]


@dataclass
class Service:
    """The state behind the routes: the current pack, the warehouse pool, the tokens."""

    policies: Path
    warehouse: str
    deployment: Deployment = field(default_factory=Deployment)
    tokens: dict[str, str] | None = None
    pool_size: int = 4
    request_seconds: float = REQUEST_SECONDS
    max_body_bytes: int = MAX_BODY_BYTES
    reload_seconds: float = RELOAD_SECONDS
    remember_seconds: float = prechecks.REMEMBER_SECONDS
    # DuckDB: the threads each query may use (None: DuckDB's own choice, one per core).
    query_threads: int | None = QUERY_THREADS

    def __post_init__(self) -> None:
        self.standing = prechecks.Standing(self.remember_seconds)
        self._lock = threading.Lock()
        self._loaded = self._load()
        self._looked_at = time.monotonic()
        self.reload_problem: str | None = None
        self.pool = _Pool(self.warehouse, self.pool_size, self.query_threads)

    # ---- the pack, re-read when its files change

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        files = sorted(p for p in self.policies.rglob("*") if p.suffix in (".rule", ".yaml"))
        stamps = []
        for path in files:
            with suppress(OSError):
                info = path.stat()
                stamps.append((str(path), info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def _load(self) -> _Loaded:
        stamp = self._stamp()
        pack = api.load_pack(self.policies)
        return _Loaded(pack, stamp, openapi_document(pack))

    def current(self) -> _Loaded:
        """The pack to answer with; a changed pack that checks replaces it, all at once."""
        now = time.monotonic()
        if now - self._looked_at < self.reload_seconds or not self._lock.acquire(blocking=False):
            return self._loaded
        try:
            self._looked_at = now
            if self._stamp() != self._loaded.stamp:
                try:
                    self._loaded = self._load()
                    self.reload_problem = None
                except DiagnosticError as err:
                    first = err.diagnostics[0] if err.diagnostics else None
                    self.reload_problem = (
                        f"{first.code}: {first.message}" if first else "the pack does not check"
                    )
            return self._loaded
        finally:
            self._lock.release()

    # ---- answering

    def caller(self, request: Request) -> str | None:
        """Who asks: the token's name; without tokens, the client's address. None: refused."""
        if self.tokens is None:
            client = request.client.host if request.client else "unknown"
            return f"local:{client}"
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        for known, name in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.strip().encode()):
                return name
        return None

    def precheck(self, loaded: _Loaded, body: dict[str, Any], caller: str) -> dict[str, Any]:
        """One pre-check, in a worker thread: its own connection, its audit row, its answer."""
        as_of = _as_of(body.get("as_of"))
        asked = prechecks.request(loaded.pack, _source(body), body.get("records"), as_of)
        with self.pool.connection() as warehouse:
            answer = prechecks.answered(
                warehouse,
                loaded.pack,
                asked,
                self.deployment,
                caller,
                self.request_seconds,
                self.standing,
            )
        return prechecks.document(answer)

    def health(self) -> tuple[int, dict[str, Any]]:
        loaded = self.current()
        facts: dict[str, Any] = {"pack_version": loaded.pack.pack.version}
        if self.reload_problem:
            facts["pack_reload_problem"] = self.reload_problem
        try:
            with self.pool.connection() as warehouse:
                warehouse.query(statement(exp.select(exp.Literal.number(1)), warehouse.dialect))
        except WarehouseError as err:
            return 503, {**facts, "status": "warehouse unreachable", "error": str(err)}
        return 200, {**facts, "status": "ok"}


def _source(body: dict[str, Any]) -> str:
    source = body.get("source")
    if not isinstance(source, str):
        raise DiagnosticError(
            [
                diagnostic(
                    "E670.no_source",
                    None,
                    hints=('如 {"source": "fin_payment", "records": [...]}',),
                    path="source",
                )
            ]
        )
    return source


def _as_of(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DiagnosticError(
            [
                diagnostic(
                    "E674.as_of_not_date",
                    None,
                    hints=("写作 2021-11-20 / write 2021-11-20",),
                    path="as_of",
                    value=value,
                    json_text=json.dumps(value, ensure_ascii=False),
                )
            ]
        ) from None


def _problems(status: int, diagnostics: list[Diagnostic]) -> JSONResponse:
    return JSONResponse(
        {"errors": [d.to_json() for d in diagnostics]}, status_code=status, headers=_NO_STORE
    )


def _error(status: int, wording: Wording) -> JSONResponse:
    return _problems(status, [wording.at()])


_NO_STORE = {"cache-control": "no-store"}


def models_document(pack: ir.CheckedPack) -> list[dict[str, Any]]:
    """Each active model: what it reads and whether it takes part in pre-checks."""
    out = []
    for model in sorted(select_models(pack), key=lambda m: m.id):
        takes_part = prechecks.takes_part(model)
        out.append(
            {
                "id": model.id,
                "title": model.title,
                "domain": model.domain,
                "severity": model.severity,
                "sources": sorted(model.sources),
                "precheck": takes_part,
            }
        )
    return out


def openapi_document(pack: ir.CheckedPack) -> dict[str, Any]:
    """The API, its record fields taken from the pack's catalog (OpenAPI 3.1)."""
    record_schemas: dict[str, Any] = {}
    for name, source in sorted(pack.pack.sources.items()):
        required = sorted({c.name for c in source.columns.values() if c.required} | set(source.key))
        properties = {}
        for column in source.columns.values():
            schema = dict(_JSON_TYPES[column.type])
            if column.label:
                schema["title"] = column.label
            properties[column.name] = schema
        record_schemas[f"record_{name}"] = {
            "type": "object",
            "title": f"{name} {source.label}",
            "description": f"键 key: {', '.join(source.key)}",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
    diagnostic = {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "message_zh": {"type": "string"},
            "message_en": {"type": "string"},
            "path": {"type": ["string", "null"]},
            "hints": {"type": "array", "items": {"type": "string"}},
        },
    }
    errors = {
        "description": "错误 errors",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"errors": {"type": "array", "items": diagnostic}},
                }
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oversight 预检 pre-check",
            "version": pack.pack.version,
            "description": "待审批事项的预检：批准后会产生哪些预警 / which warnings approving "
            "pending records would raise. See docs/接入说明.md.",
        },
        "components": {
            "schemas": record_schemas,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
        "paths": {
            "/v1/precheck": {
                "post": {
                    "summary": "预检待审记录 pre-check pending records",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["source", "records"],
                                    "properties": {
                                        "source": {"enum": sorted(pack.pack.sources)},
                                        "as_of": {"type": "string", "format": "date"},
                                        "records": {
                                            "type": "array",
                                            "maxItems": prechecks.MAX_RECORDS,
                                            "items": {
                                                "oneOf": [
                                                    {"$ref": f"#/components/schemas/{n}"}
                                                    for n in record_schemas
                                                ]
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "预警（新增 new / 变化 changed）warnings"},
                        "400": errors,
                        "401": errors,
                        "413": errors,
                        "422": errors,
                        "503": errors,
                        "504": errors,
                    },
                }
            },
            "/v1/models": {"get": {"summary": "模型 models", "responses": {"200": {}}}},
            "/v1/health": {
                "get": {
                    "summary": "健康 health",
                    "security": [],
                    "responses": {"200": {}, "503": {}},
                }
            },
        },
    }


def create_app(service: Service) -> Starlette:
    """The ASGI application answering for `service`."""

    async def precheck(request: Request) -> Response:
        caller = service.caller(request)
        if caller is None:
            return _error(401, message("E680"))
        body = await _body(request, service.max_body_bytes)
        if isinstance(body, Response):
            return body
        loaded = await run_in_threadpool(service.current)  # re-reading a pack takes seconds
        try:
            answer = await run_in_threadpool(service.precheck, loaded, body, caller)
        except DiagnosticError as err:
            return _problems(422, err.diagnostics)
        except QueryTimeout:
            return _error(
                504,
                message("E682", request_seconds=service.request_seconds),
            )
        except WarehouseError as err:
            if isinstance(err, PermissionDenied):  # say what the role lacks, as the CLI does
                err = await run_in_threadpool(
                    named_refusal, err, "serve", loaded.pack, service.deployment, service.warehouse
                )
            return _error(
                503, message("E683", reason_zh=err.message_zh, reason_en=str(err.message_en))
            )
        return JSONResponse(answer, headers=_NO_STORE)

    async def models(request: Request) -> Response:
        if service.caller(request) is None:
            return _error(401, message("E680"))
        loaded = await run_in_threadpool(service.current)
        return JSONResponse(
            {"pack_version": loaded.pack.pack.version, "models": models_document(loaded.pack)}
        )

    async def health(request: Request) -> Response:
        status, facts = await run_in_threadpool(service.health)
        return JSONResponse(facts, status_code=status, headers=_NO_STORE)

    async def openapi(request: Request) -> Response:
        loaded = await run_in_threadpool(service.current)
        return JSONResponse(loaded.openapi)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        service.pool.close()

    return Starlette(
        routes=[
            Route("/v1/precheck", precheck, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/health", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def _body(request: Request, limit: int) -> dict[str, Any] | Response:
    """The request's JSON object, read no further than `limit` bytes; an error answer if not."""
    too_large = _error(
        413,
        message("E681", limit=limit),
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_large
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks).decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _problems(
            400,
            [diagnostic("E671.request_not_json", None, exc=exc)],
        )
    if not isinstance(body, dict):
        return _problems(
            400,
            [diagnostic("E671.request_not_object", None)],
        )
    return body


def serve(service: Service, host: str, port: int) -> None:
    """Run the service with uvicorn until SIGINT or SIGTERM (uvicorn stops it gracefully)."""
    import uvicorn

    if service.tokens is None and not is_loopback(host):
        raise ServeError(
            f"在 {host} 上监听必须用 --tokens 指定令牌文件 / listening on {host} (beyond "
            "loopback) requires --tokens FILE"
        )
    uvicorn.run(create_app(service), host=host, port=port, log_level="info", access_log=False)
