"""The exit codes of every command, in one place; schedulers rely on them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented in README; add new codes, never renumber."""

    OK = 0
    MODELS_FAILED = 1  # the run finished, but at least one model failed
    NOT_FORMATTED = 1  # fmt --check: some rule files are not in the canonical layout
    INVALID_POLICY = 2  # a rule file, pack.yaml or deployment file has errors
    WAREHOUSE_UNREACHABLE = 3  # the warehouse could not be opened or queried
    # The run finished and no model failed, but some were skipped: a source they read is not in
    # the warehouse (a department has not delivered it, or the deployment maps it wrongly).
    # Not 1, so that a scheduler can tell "data missing" from "a model is broken".
    MODELS_SKIPPED = 4
    # precheck: the records are fine, and committing them would raise or change warnings
    # (listed). 0 means it would raise none.
    WOULD_WARN = 5
    # sources: at least one source is late, stale, missing or drifted (`oversight sources`).
    SOURCES_UNHEALTHY = 6
    # run --require-fresh: a selected model reads a stale source; nothing ran, nothing recorded.
    STALE_SOURCES = 7
    # The warehouse refused a privilege the command needs (SQLSTATE 42501 and kin): a DBA has
    # to grant it (`oversight grants` prints what to run); nothing was recorded.
    PERMISSION_DENIED = 8
    USAGE = 64  # the command line itself is wrong
    BAD_RECORDS = 65  # precheck: the records sent are not records of the source (E67x)
    INTERNAL = 70  # a bug in oversight: please report it with --debug output
    INTERRUPTED = 130  # stopped by SIGINT/SIGTERM; nothing half-written was left
