"""The benchmark's Spark column: its event-log sums, and its refusal of a differing answer.

benchmarks/spark_events.py sums Spark's event log per model (job group); a
hand-written log of two models, a job outside any model, a stage one job
reuses from another and two overlapping jobs must give these totals to the
byte and millisecond. benchmarks/run.py must refuse to report a Spark run
whose warnings differ from DuckDB's in one message.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _benchmark(name: str):
    """A module of benchmarks/ (not a package one can import)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


spark_events = _benchmark("spark_events")


def _task(stage: int, run: int, gc: int = 0, written: int = 0, remote: int = 0, local: int = 0):
    return {
        "Event": "SparkListenerTaskEnd",
        "Stage ID": stage,
        "Task Info": {"Failed": False},
        "Task Metrics": {
            "Executor Deserialize Time": 5,
            "Executor Run Time": run,
            "Executor CPU Time": run * 500_000,  # nanoseconds: half the run time
            "JVM GC Time": gc,
            "Result Size": 100,
            "Input Metrics": {"Bytes Read": 1000},
            "Shuffle Write Metrics": {"Shuffle Bytes Written": written},
            "Shuffle Read Metrics": {
                "Remote Bytes Read": remote,
                "Local Bytes Read": local,
                "Fetch Wait Time": 3 if remote else 0,
            },
        },
    }


def _job(job: int, at: int, stages: list[int], group: str | None):
    properties = {"spark.jobGroup.id": group} if group else {}
    return {
        "Event": "SparkListenerJobStart",
        "Job ID": job,
        "Submission Time": at,
        "Stage IDs": stages,
        "Properties": properties,
    }


def _end(job: int, at: int, result: str = "JobSucceeded"):
    return {
        "Event": "SparkListenerJobEnd",
        "Job ID": job,
        "Completion Time": at,
        "Job Result": {"Result": result},
    }


def _stage(kind: str, stage: int, group: str | None = None):
    event = {"Event": f"SparkListenerStage{kind}", "Stage Info": {"Stage ID": stage}}
    if group:
        event["Properties"] = {"spark.jobGroup.id": group}
    return event


LOG = [
    {"Event": "SparkListenerApplicationStart", "Timestamp": 1000},
    {"Event": "SparkListenerExecutorAdded", "Timestamp": 1900, "Executor ID": "1"},
    {"Event": "SparkListenerExecutorAdded", "Timestamp": 1800, "Executor ID": "0"},
    # opening the warehouse: a job of no model
    _job(0, 2000, [0], None),
    _stage("Submitted", 0),
    _task(0, 40),
    _stage("Completed", 0),
    _end(0, 2100),
    # ENG01: a shuffle (stage 1 writes, stage 2 reads) in one job, and a second job
    # overlapping the first (a broadcast) from 3500 to 4500
    _job(1, 3000, [1, 2], "ENG01"),
    _stage("Submitted", 1, "ENG01"),
    _task(1, 300, gc=20, written=4096),
    _task(1, 200, written=1024),
    _stage("Completed", 1),
    _job(2, 3500, [3], "ENG01"),
    _stage("Submitted", 3, "ENG01"),
    _task(3, 100),
    _stage("Completed", 3),
    _end(2, 4500),
    _stage("Submitted", 2, "ENG01"),
    _task(2, 50, remote=3000, local=2120),
    _stage("Completed", 2),
    _end(1, 4000),
    # FIN01: a job that lists ENG01's stage 1 (reused, never submitted) and a stage of its own
    _job(3, 5000, [1, 4], "FIN01"),
    _stage("Submitted", 4, "FIN01"),
    _task(4, 700, gc=70),
    _stage("Completed", 4),
    _end(3, 5800, "JobFailed"),
]


def test_event_log_totals(tmp_path):
    path = tmp_path / "app-1"
    path.write_text("\n".join(json.dumps(event) for event in LOG) + "\n")
    log = spark_events.summarise(spark_events.events(tmp_path))
    assert log.application_start_ms == 1000
    assert log.executors_added_ms == [1800, 1900]
    assert set(log.by_group) == {spark_events.OUTSIDE, "ENG01", "FIN01"}
    eng = log.by_group["ENG01"]
    assert (eng.jobs, eng.stages, eng.tasks) == (2, 3, 4)
    assert eng.job_seconds == pytest.approx(1.5)  # 3000–4500: the union of 3000–4000, 3500–4500
    assert eng.executor_run_seconds == pytest.approx(0.65)
    assert eng.executor_cpu_seconds == pytest.approx(0.325)
    assert eng.executor_deserialize_seconds == pytest.approx(0.02)
    assert eng.gc_seconds == pytest.approx(0.02)
    assert eng.shuffle_write_bytes == 5120
    assert (eng.shuffle_read_remote_bytes, eng.shuffle_read_local_bytes) == (3000, 2120)
    assert eng.fetch_wait_seconds == pytest.approx(0.003)
    fin = log.by_group["FIN01"]
    assert (fin.jobs, fin.failed_jobs, fin.stages, fin.tasks) == (1, 1, 1, 1)
    assert fin.shuffle_write_bytes == 0  # ENG01's stage 1, which it reused, is not its
    assert fin.job_seconds == pytest.approx(0.8)
    outside = log.by_group[spark_events.OUTSIDE]
    assert (outside.jobs, outside.tasks, outside.executor_run_seconds) == (1, 1, 0.04)
    total = log.total
    assert (total.jobs, total.stages, total.tasks, total.failed_jobs) == (4, 5, 6, 1)
    assert total.job_seconds == pytest.approx(0.1 + 1.5 + 0.8)
    assert total.executor_run_seconds == pytest.approx(1.39)
    assert total.input_bytes == 6000
    assert total.to_json()["tasks"] == 6 and "spans" not in total.to_json()


@pytest.fixture
def run(monkeypatch):
    """benchmarks/run.py, its sys.path entries and sibling modules forgotten afterwards."""
    pytest.importorskip("pandas")  # run.py imports the pandas baseline
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # undone: sys.path as it was
    added = [name for name in ("run", "data", "pandas_models") if name not in sys.modules]
    try:
        yield _benchmark("run")
    finally:
        for name in added:
            sys.modules.pop(name, None)


def test_a_differing_spark_answer_is_refused(run):

    def series(name: str, keys: dict, messages: dict) -> object:
        result = {"problems": [], "per_model": dict.fromkeys(keys, 0.1)}
        result |= {"keys": keys, "messages": messages}
        return run.Series(name, [run.Run(name, 1.0, 0, result)])

    keys = {"ENG01": {"P-1": "T01", "P-2": "T02"}}
    said = {"ENG01": {"P-1": "项目 P-1 超概算 12%", "P-2": "项目 P-2 超概算 30%"}}
    engine = series("engine", keys, said)
    same = series("spark", keys, {"ENG01": dict(said["ENG01"])})
    assert run.disagreements({"engine": engine, "spark": same}, "1") == []
    other = series("spark", keys, {"ENG01": {**said["ENG01"], "P-2": "项目 P-2 超概算 30.0%"}})
    problems = run.disagreements({"engine": engine, "spark": other}, "1")
    assert len(problems) == 1 and problems[0].startswith("spark vs engine, size 1: ENG01 P-2")
    fewer = series("spark", {"ENG01": {"P-1": "T01"}}, {"ENG01": {"P-1": said["ENG01"]["P-1"]}})
    assert run.disagreements({"engine": engine, "spark": fewer}, "1") == [
        "spark vs engine, size 1: ENG01: keys differ (missing ['P-2'], extra [])"
    ]
