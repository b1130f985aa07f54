"""A pack's history: what changed since a git revision, and what the change would do.

`oversight check --against REF` refuses a change to any rule, shared definition,
parameter default or what messages write for a null (pack.yaml's `messages`)
unless pack.version moved up and policies/CHANGELOG.md
changed too. `oversight diff --against REF --as-of DATE` previews a change:
models and parameters changed, the SQL diff, and the warnings that would
appear and disappear on a warehouse's data (run read-only, nothing recorded).
"""

from __future__ import annotations

import difflib
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from adapters import connect
from dsl import ir
from dsl.check import check_pack
from dsl.diagnostics import Diagnostic, DiagnosticError
from dsl.messages import diagnostic
from dsl.pack import version_tuple
from engine.compiler.compile import Target, compile_model
from engine.runs.run import run_models, select_models

CHANGELOG = "CHANGELOG.md"


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=True, timeout=60
        ).stdout
    except FileNotFoundError:
        raise DiagnosticError([diagnostic("E730.git_missing", None)]) from None
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiagnosticError(
            [
                diagnostic(
                    "E730.git_failed",
                    None,
                    hints=("--against 取 git 的提交、分支或标签，例如 HEAD、origin/main",),
                    args=" ".join(args),
                    detail=detail[-1] if detail else exc.returncode,
                )
            ]
        ) from None


@contextmanager
def pack_at(ref: str, policies: Path) -> Iterator[Path | None]:
    """The policies folder as it was at git revision `ref`, in a temporary folder.

    Yields None when the folder did not exist at `ref` (a new pack).
    """
    policies = policies.resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], policies).decode().strip())
    relative = policies.relative_to(top).as_posix()
    listed = _git(["ls-tree", "-d", "--name-only", ref, relative], top).decode().strip()
    if not listed:
        yield None
        return
    archive = _git(["archive", "--format=tar", ref, relative], top)
    with tempfile.TemporaryDirectory(prefix="oversight-ref-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder) / relative


@dataclass
class PackChanges:
    """What differs between the pack at a revision (old) and now (new)."""

    old_version: str | None
    new_version: str
    models_added: list[str] = field(default_factory=list)
    models_removed: list[str] = field(default_factory=list)
    models_changed: list[str] = field(default_factory=list)
    shared_changed: list[str] = field(default_factory=list)  # define / relation / lookup names
    index_changed: bool = False
    parameters_changed: list[tuple[str, Any, Any]] = field(default_factory=list)  # name, old, new
    catalog_changed: bool = False
    # pack.yaml's messages: {missing: …}, old and new: what every null in a message writes
    missing_text_changed: tuple[str | None, str | None] | None = None
    changelog_changed: bool = False
    old_pack: ir.CheckedPack | None = None

    @property
    def rules_changed(self) -> bool:
        return bool(
            self.models_added
            or self.models_removed
            or self.models_changed
            or self.shared_changed
            or self.index_changed
            or self.parameters_changed
            or self.catalog_changed
            or self.missing_text_changed
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "models_added": self.models_added,
            "models_removed": self.models_removed,
            "models_changed": self.models_changed,
            "shared_changed": self.shared_changed,
            "index_changed": self.index_changed,
            "parameters_changed": [
                {"name": n, "old": str(o), "new": str(v)} for n, o, v in self.parameters_changed
            ],
            "catalog_changed": self.catalog_changed,
            "missing_text_changed": (
                None
                if self.missing_text_changed is None
                else dict(zip(("old", "new"), self.missing_text_changed, strict=True))
            ),
            "changelog_changed": self.changelog_changed,
        }


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def compare(old_root: Path | None, new: ir.CheckedPack, new_root: Path) -> PackChanges:
    """What changed from the pack at `old_root` (None: there was none) to `new`."""
    old = check_pack(old_root).pack if old_root is not None else None
    changes = PackChanges(
        old_version=old.pack.version if old else None,
        new_version=new.pack.version,
        changelog_changed=_text(new_root / CHANGELOG)
        != (_text(old_root / CHANGELOG) if old_root else None),
        old_pack=old,
    )
    if old is None:
        changes.models_added = sorted(new.models)
        changes.index_changed = new.index is not None
        return changes
    changes.models_added = sorted(set(new.models) - set(old.models))
    changes.models_removed = sorted(set(old.models) - set(new.models))
    changes.models_changed = sorted(
        m
        for m in set(new.models) & set(old.models)
        if new.models[m].revision != old.models[m].revision
        or new.models[m].status != old.models[m].status
    )
    shared_old = {
        **{k: v.revision for k, v in old.defines.items()},
        **{k: v.revision for k, v in old.relations.items()},
        **{k: v.revision for k, v in old.lookups.items()},
    }
    shared_new = {
        **{k: v.revision for k, v in new.defines.items()},
        **{k: v.revision for k, v in new.relations.items()},
        **{k: v.revision for k, v in new.lookups.items()},
    }
    changes.shared_changed = sorted(
        k for k in set(shared_old) | set(shared_new) if shared_old.get(k) != shared_new.get(k)
    )
    old_index = old.index.revision if old.index else None
    changes.index_changed = old_index != (new.index.revision if new.index else None)
    for name in sorted(set(old.pack.parameters) | set(new.pack.parameters)):
        before, after = old.pack.parameters.get(name), new.pack.parameters.get(name)
        if (
            before is None
            or after is None
            or (before.type_name, before.nullable, before.default)
            != (after.type_name, after.nullable, after.default)
        ):
            changes.parameters_changed.append(
                (name, before.default if before else None, after.default if after else None)
            )
    changes.catalog_changed = old.pack.sources != new.pack.sources
    if old.pack.missing_text != new.pack.missing_text:
        changes.missing_text_changed = (old.pack.missing_text, new.pack.missing_text)
    return changes


def check_against(ref: str, pack: ir.CheckedPack) -> list[Diagnostic]:
    """Problems with the pack's version and changelog, compared with the pack at `ref`."""
    root = pack.pack.root
    with pack_at(ref, root) as old_root:
        changes = compare(old_root, pack, root)
    if not changes.rules_changed or changes.old_version is None:
        return []
    what = "、".join(
        [
            *changes.models_changed,
            *changes.models_added,
            *changes.models_removed,
            *changes.shared_changed,
            *(["廉情指数"] if changes.index_changed else []),
            *(f"${n}" for n, _, _ in changes.parameters_changed),
            *(["数据目录"] if changes.catalog_changed else []),
            *(["消息的空值写法 messages.missing"] if changes.missing_text_changed else []),
        ]
    )
    problems = []
    pack_yaml = str(root / "pack.yaml")
    if version_tuple(changes.new_version) <= version_tuple(changes.old_version):
        problems.append(
            diagnostic(
                "E720.version_unchanged"
                if changes.new_version == changes.old_version
                else "E720.version_lower",
                None,
                hints=(f"在 {pack_yaml} 中提高 pack.version（例如 {_bump(changes.old_version)}）",),
                what=what,
                new_version=changes.new_version,
                old_version=changes.old_version,
                ref=ref,
            )
        )
    if not changes.changelog_changed:
        problems.append(
            diagnostic(
                "E721",
                None,
                hints=(f"在 {root / CHANGELOG} 写明本次修改了什么、为什么，供核查人员阅读",),
                what=what,
                changelog=CHANGELOG,
                ref=ref,
            )
        )
    return problems


def _bump(version: str) -> str:
    parts = [*version_tuple(version), 0, 0, 0]
    return f"{parts[0]}.{parts[1]}.{parts[2] + 1}"


@dataclass
class Impact:
    """What a change would do: the changes, the SQL diff, warnings that appear or disappear."""

    ref: str
    as_of: date | None
    changes: PackChanges
    sql_diff: dict[str, str]  # model id -> unified diff
    appear: list[dict[str, Any]] = field(default_factory=list)
    disappear: list[dict[str, Any]] = field(default_factory=list)
    reworded: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "against": self.ref,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "changes": self.changes.to_json(),
            "sql_diff": self.sql_diff,
            "warnings_appear": self.appear,
            "warnings_disappear": self.disappear,
            "messages_changed": self.reworded,
        }


def impact(
    ref: str,
    pack: ir.CheckedPack,
    as_of: date | None = None,
    warehouse: str | None = None,
    parameters: dict[str, Any] | None = None,
    tables: dict[str, str] | None = None,
) -> Impact:
    """Preview the change from `ref` to `pack`; with a warehouse, on its data as of `as_of`."""
    root = pack.pack.root
    with pack_at(ref, root) as old_root:
        changes = compare(old_root, pack, root)
    old = changes.old_pack
    dialect = "duckdb"
    connection = connect(warehouse, read_only=True, must_exist=True) if warehouse else None
    try:
        if connection is not None:
            dialect = connection.dialect
        touched = sorted({*changes.models_changed, *changes.models_added, *changes.models_removed})
        result = Impact(ref, as_of, changes, _sql_diff(old, pack, touched, dialect))
        if connection is not None and as_of is not None:
            before = _warnings(old, connection, as_of, parameters, tables)
            after = _warnings(pack, connection, as_of, parameters, tables)
            result.appear = [after[k] for k in sorted(set(after) - set(before))]
            result.disappear = [before[k] for k in sorted(set(before) - set(after))]
            result.reworded = [
                {**after[k], "old_message": before[k]["message"]}
                for k in sorted(set(before) & set(after))
                if before[k]["message"] != after[k]["message"]
            ]
        return result
    finally:
        if connection is not None:
            connection.close()


def _sql_diff(
    old: ir.CheckedPack | None, new: ir.CheckedPack, models: list[str], dialect: str
) -> dict[str, str]:
    diffs = {}
    for model_id in models:
        before = _sql(old, model_id, dialect)
        after = _sql(new, model_id, dialect)
        diffs[model_id] = "".join(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=f"{model_id} (before)",
                tofile=f"{model_id} (after)",
            )
        )
    return diffs


def _sql(pack: ir.CheckedPack | None, model_id: str, dialect: str) -> str:
    if pack is None or model_id not in pack.models:
        return ""
    return compile_model(pack.models[model_id], pack, Target(dialect)).sql(pretty=True) + "\n"


def _warnings(
    pack: ir.CheckedPack | None,
    connection: Any,
    as_of: date,
    parameters: dict[str, Any] | None,
    tables: dict[str, str] | None,
) -> dict[tuple[str, str], dict[str, Any]]:
    if pack is None:
        return {}
    result = run_models(pack, connection, as_of, select_models(pack), parameters, tables)
    return {
        (w["model_id"], w["warning_key"]): {
            "model_id": w["model_id"],
            "warning_key": w["warning_key"],
            "township": w["township"],
            "severity": w["severity"],
            "message": w["message"],
        }
        for w in result.warnings.to_pylist()
    }
