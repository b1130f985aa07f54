"""A few models against their hand-written queries: `python3 benchmarks/models.py ENG04`.

The per-model figure of benchmarks/run.py ("slowest models") on its own, for
a change to one model or to how one construct compiles: at each size, in
fresh processes (benchmarks/worker.py) with the repetitions interleaved, the
DuckDB time of the engine's query for each model (`split`: the reviewed file
of compiled/ when current, as `oversight run` reads it; a relation two or more
of the models read is made once before them, its own row) and of its
hand-written query with messages (`hand`, benchmarks/hand_messages.py), on
the same DuckDB file and day. Before timing, one `engine` run must give
exactly the hand-written query's warnings and messages, else it exits 1.

    python3 benchmarks/models.py ENG04 --sizes 1,10 --repeat 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time

import data
from run import child_env, compare, warm_files, worker


def measure(dataset: data.Dataset, models: list[str], as_of: dt.date, repeat: int) -> dict:
    """Each model's query seconds (engine, hand-written) per repetition at one size."""
    env = child_env(True)
    selected = ",".join(models)
    engine = worker("engine", env, db=dataset.duckdb, as_of=as_of, models=selected)
    hand = worker("hand", env, db=dataset.duckdb, as_of=as_of, models=selected)
    problems = compare(engine.result, hand.result, models)
    if problems:
        return {"problems": problems}
    warm_files(dataset)
    seconds: dict[str, dict[str, list[float]]] = {m: {"engine": [], "hand": []} for m in models}
    shared: list[float] = []  # the run's shared relations, made once before the models
    for _ in range(repeat):
        split = worker("split", env, db=dataset.duckdb, as_of=as_of, models=selected)
        hand = worker("hand", env, db=dataset.duckdb, as_of=as_of, models=selected)
        shared.append(split.result["seconds"].get("shared", 0.0))
        for model in models:
            seconds[model]["engine"].append(split.result["per_model"][model]["query"])
            seconds[model]["hand"].append(hand.result["per_model"][model])
    return {
        "seconds": seconds,
        "shared": shared,
        "warnings": {m: len(engine.result["keys"].get(m, {})) for m in models},
    }


def main(argv: list[str] | None = None) -> int:
    """Measure, print a Markdown table of medians; exit 1 if a model's warnings differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model ids, e.g. ENG04")
    parser.add_argument("--sizes", default="1,10", help="size factors, e.g. 1,10")
    parser.add_argument("--repeat", type=int, default=7, help="repetitions of each measurement")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2021, 12, 31))
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    print("| size | model | warnings | engine query, median (min–max) | hand-written | ratio |")
    print("|---|---|---|---|---|---|")
    for size in (float(s) for s in args.sizes.split(",") if s.strip()):
        dataset = data.prepare(size, args.seed, log=log)
        found = measure(dataset, args.models, args.as_of, args.repeat)
        if "problems" in found:
            print("The hand-written queries disagree with the engine:", file=sys.stderr)
            for problem in found["problems"]:
                print(f"  {problem}", file=sys.stderr)
            return 1
        for model, runs in found["seconds"].items():
            engine, hand = runs["engine"], runs["hand"]
            print(
                f"| {data.size_label(size)} | {model} | {found['warnings'][model]} "
                f"| {statistics.median(engine):.3f} s ({min(engine):.3f}–{max(engine):.3f}) "
                f"| {statistics.median(hand):.3f} s ({min(hand):.3f}–{max(hand):.3f}) "
                f"| {statistics.median(engine) / statistics.median(hand):.2f} |"
            )
        shared = found["shared"]
        if any(shared):  # what the models above read instead of computing it each
            print(
                f"| {data.size_label(size)} | shared relations, made once | "
                f"| {statistics.median(shared):.3f} s ({min(shared):.3f}–{max(shared):.3f}) | | |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
