"""How fast `oversight serve` answers pre-checks, under concurrent clients, against the naive way.

    python3 benchmarks/precheck.py --sizes 1,10 --clients 16 --requests 10000

For each size factor of the demo county (benchmarks/data.py builds and keeps
it), on a copy of its DuckDB warehouse:

1. draws realistic pending records: rows of every source whose models take
   part in pre-checks, read from the county itself, each given a new key so
   that it is a new matter and dated the county's today (`--today`, the last
   day of the demo year), as a matter waiting for approval is (one record per
   request);
2. starts `oversight serve` in its own process on a free loopback port and
   has `--clients` httpx clients post the records as fast as they are
   answered until `--requests` have been answered; every answer must be 200;
   then the same clients ask `GET /v1/health` `--floor-requests` times: the
   latency these clients and this HTTP stack give on this machine for almost
   no work (the clients share the machine's cores with the service), beside
   which the pre-checks' figures are read;
3. checks that every source table and the ledger are exactly as before
   (a digest of each table's rows, taken with the server stopped) and that
   there is one audit row per request;
4. measures the naive way in one process, interleaved with the service's way
   for the same records: write the record into its table, run the models that
   read the source in full, take the record out again, run them again — two
   full runs and two writes per pre-check, which is what a pre-check costs
   without oversight's — against `engine.service.precheck.precheck` on the same
   connection (records as literal rows, nothing written).

Prints a Markdown table (p50, p95, p99 latency under load, requests per
second, errors, the two single-request medians and their ratio, the service's
CPU time per request — user and system, all its threads — the load average)
and writes it with every raw figure to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402
import pyarrow as pa  # noqa: E402
from data import prepare  # noqa: E402
from sqlglot import exp  # noqa: E402

from adapters import connect  # noqa: E402
from adapters.names import statement  # noqa: E402
from engine import api  # noqa: E402
from engine.runs import ledger  # noqa: E402
from engine.runs.run import run_models  # noqa: E402
from engine.schema import source_schema  # noqa: E402
from engine.service import precheck as prechecks  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
# Reference data and the supervision side's own tables are not matters a township approves.
NOT_PENDING = {"ref_township", "ref_calendar", "sup_disposal", "sup_official", "sup_kinship"}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def pending_records(
    url: str, per_source: int, seed: int, today: date
) -> list[tuple[str, dict[str, Any]]]:
    """(source, record) pairs: stored rows of every taking-part source, new keys, dated today."""
    pack = api.load_pack()
    rng = random.Random(seed)
    warehouse = connect(url, read_only=True)
    out = []
    try:
        for name, source in sorted(pack.pack.sources.items()):
            if name in NOT_PENDING or not prechecks.models_reading(pack, name):
                continue
            rows = warehouse.query(
                statement(exp.select("*").from_(name).limit(2000), "duckdb")
            ).to_pylist()
            for row in rng.sample(rows, min(per_source, len(rows))):
                record = {k: _json_value(v) for k, v in row.items() if k in source.columns}
                if source.event_date:
                    record[source.event_date] = today.isoformat()
                for key in source.key:
                    if source.columns[key].type.value == "string":
                        record[key] = f"PC{rng.randrange(10**9)}{record[key]}"
                    elif source.columns[key].type.value == "int":
                        record[key] = int(record[key]) + 10_000 + rng.randrange(10**6)
                out.append((name, record))
    finally:
        warehouse.close()
    rng.shuffle(out)
    return out


def table_digests(url: str) -> dict[str, str]:
    """A digest of every table's rows in a stable order, the audit table aside."""
    pack = api.load_pack()
    warehouse = connect(url, read_only=True)
    try:
        digests = {}
        for name in [*pack.pack.sources, ledger.LEDGER, ledger.RUNS]:
            if not warehouse.has_table(name):
                continue
            table = warehouse.query(statement(exp.select("*").from_(name), "duckdb"))
            rows = sorted(json.dumps(r, default=str, sort_keys=True) for r in table.to_pylist())
            digests[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return digests
    finally:
        warehouse.close()


def audit_rows(url: str) -> int:
    """How many pre-checks the audit table holds."""
    warehouse = connect(url, read_only=True)
    try:
        if not warehouse.has_table(ledger.PRECHECKS):
            return 0
        count = exp.select(exp.func("count", exp.Star())).from_(ledger.PRECHECKS)
        return int(warehouse.query(statement(count, "duckdb")).column(0)[0].as_py())
    finally:
        warehouse.close()


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, connections: int) -> subprocess.Popen:
    """`oversight serve` in its own process, once /v1/health answers."""
    command = [
        sys.executable, "-m", "engine.cli", "serve", "--warehouse", url,
        "--port", str(port), "--connections", str(connections),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not answer /v1/health within 120 s")


async def load(
    port: int, records: list[tuple[str, dict]] | None, requests: int, clients: int
) -> tuple[list[float], dict[int, int], float]:
    """Latencies (s) of `requests` pre-checks posted by `clients` at once; statuses; wall time.

    Without records, the clients ask `GET /v1/health` instead (one `SELECT 1` on the
    service's pool): the floor that these clients and this HTTP stack reach on this
    machine before any pre-check work, measured the same way in the same run.
    """
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(requests))
    limits = httpx.Limits(max_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        for n in counter:
            started = time.perf_counter()
            if records is None:
                answer = await http.get("/v1/health")
            else:
                source, record = records[n % len(records)]
                answer = await http.post(
                    "/v1/precheck", json={"source": source, "records": [{**record}]}
                )
            latencies.append(time.perf_counter() - started)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
    ) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return latencies, statuses, time.perf_counter() - started


def naive_and_ours(
    url: str, records: list[tuple[str, dict]], samples: int
) -> tuple[list[float], list[float]]:
    """Single-request seconds, interleaved: the naive way, and engine.service.precheck's."""
    pack = api.load_pack()
    warehouse = connect(url)
    naive, ours = [], []
    try:
        for source, record in records[:samples]:
            asked = prechecks.request(pack, source, [record])
            models = prechecks.models_reading(pack, source)
            schema = source_schema(pack.pack.sources[source])
            started = time.perf_counter()
            prechecks.precheck(warehouse, pack, asked)
            ours.append(time.perf_counter() - started)

            started = time.perf_counter()
            row = pa.Table.from_pylist(list(asked.rows), schema=schema)
            try:
                with warehouse.transaction():  # the record written, the models run …
                    warehouse.append(source, row)
                    run_models(pack, warehouse, asked.as_of, models)
                    raise _Undo  # … and the record taken out again
            except _Undo:
                pass
            run_models(pack, warehouse, asked.as_of, models)
            naive.append(time.perf_counter() - started)
    finally:
        warehouse.close()
    return naive, ours


class _Undo(Exception):
    """Rolls the naive way's write back."""


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system, every thread) process `pid` has used so far (Linux).

    What the service spends per request, whatever else the machine is running: latency and
    requests per second on a shared machine depend on the other processes too.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The value below which a fraction `q` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    """Measure every size; exit 1 if a request failed or a table changed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1,10")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=4, help="the server's pool")
    parser.add_argument(
        "--floor-requests", type=int, default=3000, help="GET /v1/health, the same clients"
    )
    parser.add_argument("--per-source", type=int, default=40)
    parser.add_argument("--naive-samples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2021, 12, 31))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    results = []
    for size in [float(s) for s in args.sizes.split(",")]:
        dataset = prepare(size, args.seed)
        scratch = Path(tempfile.mkdtemp(prefix="precheck-bench-"))
        try:
            copy = scratch / "county.duckdb"
            shutil.copy(dataset.duckdb, copy)
            url = f"duckdb:///{copy}"
            records = pending_records(url, args.per_source, args.seed, args.today)
            before = table_digests(url)
            naive, ours = naive_and_ours(url, records, args.naive_samples)
            assert table_digests(url) == before, "the naive way left rows behind"
            audit_before = audit_rows(url)

            port = free_port()
            server = start_server(url, port, args.connections)
            load_before = os.getloadavg()
            cpu_before = cpu_seconds(server.pid)
            try:
                latencies, statuses, wall = asyncio.run(
                    load(port, records, args.requests, args.clients)
                )
                cpu = cpu_seconds(server.pid) - cpu_before
                floor, floor_statuses, floor_wall = asyncio.run(
                    load(port, None, args.floor_requests, args.clients)
                )
            finally:
                server.terminate()
                server.wait(60)
            unchanged = table_digests(url) == before
            audited = audit_rows(url) - audit_before
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        errors = sum(n for status, n in statuses.items() if status != 200)
        errors += sum(n for status, n in floor_statuses.items() if status != 200)
        result = {
            "size": size,
            "clients": args.clients,
            "requests": len(latencies),
            "sources": len({s for s, _ in records}),
            "p50_ms": 1000 * percentile(latencies, 0.50),
            "p95_ms": 1000 * percentile(latencies, 0.95),
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "requests_per_s": len(latencies) / wall,
            "errors": errors,
            "statuses": statuses,
            "single_ours_ms": 1000 * statistics.median(ours),
            "single_naive_ms": 1000 * statistics.median(naive),
            "naive_over_ours": statistics.median(naive) / statistics.median(ours),
            "server_cpu_ms_per_request": 1000 * cpu / len(latencies),
            "floor_p50_ms": 1000 * percentile(floor, 0.50),
            "floor_p95_ms": 1000 * percentile(floor, 0.95),
            "floor_requests_per_s": len(floor) / floor_wall,
            "tables_unchanged": unchanged,
            "audit_rows": audited,
            "load_average": load_before,
        }
        results.append(result)
        print(json.dumps(result), flush=True)

    lines = [
        "| size | clients | requests | p50 | p95 | p99 | req/s | errors | one pre-check "
        "| naive way | naive / pre-check | service CPU / request | tables unchanged | audit rows "
        "| floor p50 | floor p95 | floor req/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']:g}x | {r['clients']} | {r['requests']} | {r['p50_ms']:.0f} ms "
            f"| {r['p95_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['requests_per_s']:.1f} "
            f"| {r['errors']} | {r['single_ours_ms']:.0f} ms | {r['single_naive_ms']:.0f} ms "
            f"| {r['naive_over_ours']:.2f} | {r['server_cpu_ms_per_request']:.0f} ms "
            f"| {'yes' if r['tables_unchanged'] else 'NO'} "
            f"| {r['audit_rows']} | {r['floor_p50_ms']:.0f} ms | {r['floor_p95_ms']:.0f} ms "
            f"| {r['floor_requests_per_s']:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (args.out / f"precheck-{stamp}.json").write_text(json.dumps(results, indent=2))
    (args.out / f"precheck-{stamp}.md").write_text(table + "\n")
    bad = any(
        r["errors"] or not r["tables_unchanged"] or r["audit_rows"] != r["requests"]
        for r in results
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
