"""Stage 2, check: parsed rule files and pack.yaml to a typed `CheckedPack`, or diagnostics.

One core and the planners that use it:

- expressions.py — the core: `ExpressionChecker` types one expression in a
  `Scope` and `Context` its caller gives;
- shared.py — shared definitions, relations and lookups, and what the pack's
  checks share (binding uids, columns, sizes written out);
- models.py — one model; messages.py — its message; examples.py — its examples;
- index.py — the integrity index;
- pack_checker.py — the whole pack: `check_pack`, `PackChecker`;
- report.py — how each of them reports.
"""

from dsl.check.expressions import KEY_HOLE, Context, ExpressionChecker, Scope
from dsl.check.models import STATUSES
from dsl.check.pack_checker import CheckResult, PackChecker, check_pack, rule_files

__all__ = [
    "KEY_HOLE",
    "STATUSES",
    "CheckResult",
    "Context",
    "ExpressionChecker",
    "PackChecker",
    "Scope",
    "check_pack",
    "rule_files",
]
