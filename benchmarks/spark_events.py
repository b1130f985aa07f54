"""Spark's event log, summed: where a Spark run's time went (jobs, stages, tasks, shuffles).

The `spark` worker (benchmarks/worker.py) runs the pack with Spark's event log
on (`spark.eventLog.enabled`), sets the job group to each model's id while
that model runs, and hands the log to `summarise`. The log is one JSON object
a line; what this reads of it:

- SparkListenerJobStart / JobEnd: a job's submission and completion time and
  its properties (`spark.jobGroup.id`: the model that ran it);
- SparkListenerStageSubmitted / StageCompleted: each stage attempt that ran
  (a stage a job lists but reuses from an earlier job is never submitted),
  its properties, its number of tasks;
- SparkListenerTaskEnd: each task's metrics — executor run time and
  deserialisation time, JVM GC time, shuffle bytes written, shuffle bytes read
  (remote and local) and the time spent waiting for them;
- SparkListenerExecutorAdded: when each executor registered.

A model's "time in jobs" is the union of its jobs' spans (jobs of one query
may overlap: a broadcast beside a shuffle); the rest of its wall time is the
driver's — parsing and planning the query, sending the result to Python as
Arrow, turning rows into warnings. Executor run time summed over tasks,
against the time in jobs times the executors' cores, says how busy the
executors were while a job ran; the difference is scheduling, task launch
and waiting on the stage boundaries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OUTSIDE = "(outside models)"
"""The group of jobs run while no model ran: opening the warehouse, registering tables."""


@dataclass
class Totals:
    """What the event log says of one model's jobs (or of all of them)."""

    jobs: int = 0
    failed_jobs: int = 0
    stages: int = 0  # stage attempts that ran
    tasks: int = 0
    failed_tasks: int = 0
    job_seconds: float = 0.0  # union of the jobs' spans
    executor_run_seconds: float = 0.0
    executor_deserialize_seconds: float = 0.0
    executor_cpu_seconds: float = 0.0
    gc_seconds: float = 0.0
    shuffle_write_bytes: int = 0
    shuffle_read_remote_bytes: int = 0
    shuffle_read_local_bytes: int = 0
    fetch_wait_seconds: float = 0.0
    input_bytes: int = 0
    result_bytes: int = 0
    spans: list[tuple[int, int]] = field(default_factory=list, repr=False)  # job spans, ms

    def to_json(self) -> dict[str, Any]:
        facts = asdict(self)
        del facts["spans"]
        return facts


@dataclass
class EventLog:
    """A Spark application's event log, summed per job group and in total."""

    application_start_ms: int | None
    executors_added_ms: list[int]  # when each executor registered (epoch milliseconds)
    by_group: dict[str, Totals]
    total: Totals

    def to_json(self) -> dict[str, Any]:
        return {
            "application_start_ms": self.application_start_ms,
            "executors_added_ms": self.executors_added_ms,
            "by_group": {group: totals.to_json() for group, totals in self.by_group.items()},
            "total": self.total.to_json(),
        }


def events(path: Path) -> Iterable[dict[str, Any]]:
    """The events of a log file (or of every file under a log folder), one JSON object a line."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def _group(properties: Mapping[str, Any] | None) -> str:
    return str((properties or {}).get("spark.jobGroup.id") or OUTSIDE)


def _union_seconds(spans: list[tuple[int, int]]) -> float:
    """The length of the union of [start, end] spans in milliseconds, in seconds."""
    covered, reach = 0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            covered += end - start
            reach = end
        elif end > reach:
            covered += end - reach
            reach = end
    return covered / 1000


def summarise(log: Iterable[Mapping[str, Any]]) -> EventLog:
    """Jobs, stages, tasks and their metrics, per job group (model) and in total."""
    started: int | None = None
    executors: list[int] = []
    job_group: dict[int, str] = {}
    job_start: dict[int, int] = {}
    stage_group: dict[int, str] = {}
    groups: dict[str, Totals] = {}
    total = Totals()

    def add(group: str) -> list[Totals]:
        return [groups.setdefault(group, Totals()), total]

    for event in log:
        kind = event.get("Event")
        if kind == "SparkListenerApplicationStart":
            started = event.get("Timestamp")
        elif kind == "SparkListenerExecutorAdded":
            executors.append(int(event["Timestamp"]))
        elif kind == "SparkListenerJobStart":
            job = int(event["Job ID"])
            job_group[job] = _group(event.get("Properties"))
            job_start[job] = int(event["Submission Time"])
            for stage in event.get("Stage IDs", []):  # a stage it reuses keeps its first job's
                stage_group.setdefault(int(stage), job_group[job])
        elif kind == "SparkListenerJobEnd":
            job = int(event["Job ID"])
            failed = event.get("Job Result", {}).get("Result") != "JobSucceeded"
            for totals in add(job_group.get(job, OUTSIDE)):
                totals.jobs += 1
                totals.failed_jobs += failed
                if job in job_start:
                    totals.spans.append((job_start[job], int(event["Completion Time"])))
        elif kind == "SparkListenerStageSubmitted":
            info = event["Stage Info"]
            if event.get("Properties"):
                stage_group[int(info["Stage ID"])] = _group(event["Properties"])
        elif kind == "SparkListenerStageCompleted":
            stage = int(event["Stage Info"]["Stage ID"])
            for totals in add(stage_group.get(stage, OUTSIDE)):
                totals.stages += 1
        elif kind == "SparkListenerTaskEnd":
            group = stage_group.get(int(event["Stage ID"]), OUTSIDE)
            metrics = event.get("Task Metrics") or {}
            failed = bool(event.get("Task Info", {}).get("Failed"))
            read = metrics.get("Shuffle Read Metrics") or {}
            written = metrics.get("Shuffle Write Metrics") or {}
            for totals in add(group):
                totals.tasks += 1
                totals.failed_tasks += failed
                totals.executor_run_seconds += metrics.get("Executor Run Time", 0) / 1000
                totals.executor_deserialize_seconds += (
                    metrics.get("Executor Deserialize Time", 0) / 1000
                )
                totals.executor_cpu_seconds += metrics.get("Executor CPU Time", 0) / 1e9
                totals.gc_seconds += metrics.get("JVM GC Time", 0) / 1000
                totals.shuffle_write_bytes += written.get("Shuffle Bytes Written", 0)
                totals.shuffle_read_remote_bytes += read.get("Remote Bytes Read", 0)
                totals.shuffle_read_local_bytes += read.get("Local Bytes Read", 0)
                totals.fetch_wait_seconds += read.get("Fetch Wait Time", 0) / 1000
                totals.input_bytes += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)
                totals.result_bytes += metrics.get("Result Size", 0)
    for totals in [*groups.values(), total]:
        totals.job_seconds = _union_seconds(totals.spans)
    return EventLog(started, sorted(executors), groups, total)
