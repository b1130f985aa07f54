"""`oversight check`'s cache: an edit re-checks what it touched, and nothing stale is trusted.

Each test works on its own copy of the repository's pack and compiled/, copied from
one that a full check has already filled the cache of (in `.oversight/`).
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
from pathlib import Path

import pytest

from dsl.check import CheckResult, check_pack
from dsl.node import dump
from engine import __version__, api
from engine.cli import main
from engine.exit_codes import ExitCode
from engine.policy import check_cache
from engine.policy.check_cache import FOLDER, MODELS, PARSED, RESULTS, CheckCache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checked_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack and compiled/, after one check with the cache: `.oversight/` is full."""
    base = tmp_path_factory.mktemp("checked")
    shutil.copytree(ROOT / "policies", base / "policies", ignore=shutil.ignore_patterns(FOLDER))
    shutil.copytree(ROOT / "compiled", base / "compiled")
    report = api.check(base / "policies", cache=True)
    assert report.ok and report.from_cache == []
    return base


@pytest.fixture
def pack_dir(checked_once: Path, tmp_path: Path) -> Path:
    """A copy of the checked pack (its cache included) for one test to change."""
    shutil.copytree(checked_once / "policies", tmp_path / "policies")
    shutil.copytree(checked_once / "compiled", tmp_path / "compiled")
    return tmp_path / "policies"


def _all_models() -> set[str]:
    return {p.stem for p in (ROOT / "policies" / "models").rglob("*.rule")}


def _codes(report: api.CheckReport) -> set[str]:
    return {d.code for d in report.diagnostics}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_unchanged_pack_comes_whole_from_the_cache(pack_dir: Path):
    report = api.check(pack_dir, cache=True)
    assert report.ok
    assert set(report.from_cache) == _all_models()
    assert len(report.examples) == 157 and all(e.passed for e in report.examples)
    assert (pack_dir / FOLDER / ".gitignore").read_text().splitlines()[-1] == "*"


def test_no_cache_neither_reads_nor_writes_it(pack_dir: Path):
    folder = pack_dir / FOLDER
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    _edit(pack_dir / "models" / "housing" / "HOU02.rule", "\n", "\n# 一行注释\n")
    report = api.check(pack_dir, cache=False)
    assert report.from_cache == []
    assert _codes(report) == {"E710"}  # the file's hash in its compiled headers changed
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_an_example_edited_to_fail_is_caught_and_not_kept(pack_dir: Path):
    rule = pack_dir / "models" / "engineering" / "ENG03.rule"
    expected = re.findall(r'expect "([^"]+)"', rule.read_text(encoding="utf-8"))[0]
    _edit(rule, f'expect "{expected}"', f'expect "{expected}-不存在"')
    for _ in range(2):  # a failure is never served from the cache
        report = api.check(pack_dir, cache=True)
        assert not report.ok
        assert "E510" in {d.code.split(".")[0] for d in report.diagnostics}
        failed = {e.model_id for e in report.examples if not e.passed}
        assert failed == {"ENG03"}
        assert set(report.from_cache) == _all_models() - {"ENG03"}


def test_editing_a_shared_definition_reruns_the_models_that_reach_it_and_only_those(
    pack_dir: Path,
):
    _edit(
        pack_dir / "shared" / "common.rule",
        "exists(official_circle c where c.person_id = person and c.township = town)",
        "exists(official_circle c where c.township = town and c.person_id = person)",
    )
    # in_official_circle is called directly, and through related_to_township
    users = {
        p.stem
        for p in (pack_dir / "models").rglob("*.rule")
        if re.search(r"\b(in_official_circle|related_to_township)\(", p.read_text("utf-8"))
    }
    assert len(users) == 6
    report = api.check(pack_dir, cache=True)
    assert _all_models() - set(report.from_cache) == users
    assert all(e.passed for e in report.examples)
    assert "E710" in _codes(report)  # their SQL changed: compiled/ is out of date for them
    stale = api.stale_compiled(report.pack, pack_dir.parent / "compiled")
    assert {Path(name).stem for name in stale} == users | {"fingerprint"}


def test_a_comment_in_the_shared_file_reruns_nothing(pack_dir: Path):
    _edit(pack_dir / "shared" / "common.rule", "\n", "\n# 只是注释\n")
    report = api.check(pack_dir, cache=True)
    assert set(report.from_cache) == _all_models()
    assert [d.message_zh for d in report.diagnostics] == [_ONLY_FINGERPRINT]


# compiled/fingerprint.json holds a digest of every rule file and pack.yaml as they were
_ONLY_FINGERPRINT = "compiled/ 中的 SQL 不是最新的：fingerprint.json"


def test_a_changed_pack_yaml_reruns_every_model(pack_dir: Path):
    with (pack_dir / "pack.yaml").open("a", encoding="utf-8") as out:
        out.write("\n# 改动\n")
    report = api.check(pack_dir, cache=True)
    assert report.from_cache == [] and len(report.examples) == 157
    assert all(e.passed for e in report.examples)
    assert [d.message_zh for d in report.diagnostics] == [_ONLY_FINGERPRINT]
    assert set(api.check(pack_dir, cache=True).from_cache) == _all_models()


def test_a_corrupt_cache_is_ignored_and_written_again(pack_dir: Path):
    folder = pack_dir / FOLDER
    (folder / RESULTS).write_text('{"format": 1, "entries": {"ENG01": ', encoding="utf-8")
    for tree in (folder / PARSED).glob("*.pickle"):
        tree.write_bytes(b"\x80\x05 not a pickle")
    report = api.check(pack_dir, cache=True)
    assert report.ok and report.from_cache == []
    assert set(api.check(pack_dir, cache=True).from_cache) == _all_models()


def test_well_formed_entries_with_the_wrong_shape_are_ignored(pack_dir: Path):
    results = pack_dir / FOLDER / RESULTS
    record = json.loads(results.read_text(encoding="utf-8"))
    record["entries"]["ENG01"]["examples"] = "all of them"
    record["entries"]["ENG02"] = ["not", "an", "entry"]
    results.write_text(json.dumps(record), encoding="utf-8")
    report = api.check(pack_dir, cache=True)
    assert report.ok and report.from_cache == []  # one bad entry: the file is not trusted
    record["entries"] = {"ENG01": {**json.loads(results.read_text())["entries"]["ENG01"]}}
    record["entries"]["ENG01"]["examples"] = "all of them"
    results.write_text(json.dumps(record), encoding="utf-8")
    assert "ENG01" not in api.check(pack_dir, cache=True).from_cache


def test_a_cache_written_by_another_engine_is_ignored(
    pack_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    results = pack_dir / FOLDER / RESULTS
    record = json.loads(results.read_text(encoding="utf-8"))
    record["engine"] = "0" * 64
    results.write_text(json.dumps(record), encoding="utf-8")
    assert api.check(pack_dir, cache=True).from_cache == []

    assert set(api.check(pack_dir, cache=True).from_cache) == _all_models()
    monkeypatch.setattr(check_cache, "__version__", "99.0.0")
    monkeypatch.setattr(check_cache, "engine_key", check_cache.engine_key.__wrapped__)
    assert api.check(pack_dir, cache=True).from_cache == []


def test_a_compiled_file_deleted_or_edited_is_caught_with_everything_from_the_cache(
    pack_dir: Path,
):
    compiled = pack_dir.parent / "compiled"
    (compiled / "duckdb" / "ENG03.sql").unlink()
    _edit(compiled / "postgres" / "FIN01.sql", "SELECT", "SELECT DISTINCT")
    report = api.check(pack_dir, cache=True, examples=False)
    assert set(report.from_cache) == _all_models()
    [stale] = [d for d in report.diagnostics if d.code == "E710"]
    assert "duckdb/ENG03.sql" in stale.message_zh and "postgres/FIN01.sql" in stale.message_zh


def test_a_parsed_tree_file_that_names_other_code_is_not_loaded(pack_dir: Path):
    class Payload:
        def __reduce__(self):
            return (shutil.rmtree, (str(pack_dir),))

    parsed = CheckCache.of(pack_dir).parsed
    text = (pack_dir / "index.rule").read_text(encoding="utf-8")
    key = parsed.key(str(pack_dir / "index.rule"), text, True)
    (pack_dir / FOLDER / PARSED / f"{key}.pickle").write_bytes(pickle.dumps(Payload()))
    assert parsed.get(str(pack_dir / "index.rule"), text, True) is None
    with pytest.raises(pickle.UnpicklingError):
        check_cache.TreesOnly(io.BytesIO(pickle.dumps(Payload()))).load()
    assert pack_dir.is_dir()


def test_the_command_says_how_many_models_came_from_the_cache(pack_dir: Path, capsys):
    assert main(["check", "--policies", str(pack_dir)]) == ExitCode.OK
    assert "（35 个来自缓存）" in capsys.readouterr().out
    assert main(["check", "--policies", str(pack_dir), "--no-examples", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["models_from_cache"] == 35
    assert main(["check", "--policies", str(pack_dir), "--no-cache", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["models_from_cache"] == 0


# ---- the model checker: a model whose inputs are unchanged is not checked again ----------


@pytest.fixture
def warm(pack_dir: Path) -> Path:
    """`pack_dir` checked once where it is: the cache's entries name each file as shown there."""
    assert api.check(pack_dir, cache=True).ok
    return pack_dir


def _checked(pack_dir: Path) -> tuple[CheckResult, CheckResult]:
    """The pack checked with its cache (not written), and checked whole without it."""
    cached = check_pack(pack_dir, __version__, parsed_before=CheckCache.of(pack_dir).parsed)
    return cached, check_pack(pack_dir, __version__)


def _same(cached: CheckResult, whole: CheckResult) -> None:
    """What the cache gave is what checking the whole pack gives: every uid, every diagnostic."""
    assert cached.diagnostics == whole.diagnostics
    assert (cached.pack is None) == (whole.pack is None)
    if whole.pack is not None:
        assert dump(cached.pack) == dump(whole.pack)


def test_an_edited_model_alone_is_checked_again(warm: Path):
    pack_dir = warm
    cached, whole = _checked(pack_dir)
    assert cached.models_checked == [] and len(whole.models_checked) == 35
    _same(cached, whole)
    _edit(pack_dir / "models" / "funds" / "FUN06.rule", "一律打入", "一律转入")
    cached, whole = _checked(pack_dir)
    assert cached.models_checked == ["FUN06"]
    _same(cached, whole)


def test_a_model_with_another_binding_moves_the_uids_of_the_models_after_it(warm: Path):
    pack_dir = warm
    """AST01 (the first model) gains a binding: every later model's uids are one further on."""
    _edit(
        pack_dir / "models" / "assets" / "AST01.rule",
        "where l.annual_rent < $rent_floor_ratio * a.appraised_annual_rent",
        "where l.annual_rent < $rent_floor_ratio * a.appraised_annual_rent"
        ' and not exists(ag_asset b where b.asset_id = "无此资产")',
    )
    cached, whole = _checked(pack_dir)
    assert cached.models_checked == ["AST01"]
    _same(cached, whole)
    report = api.check(pack_dir, cache=True)  # kept with its uids where they are now
    assert report.pack is not None and _codes(report) == {"E710"}  # AST01's SQL changed
    cached, whole = _checked(pack_dir)
    assert cached.models_checked == []
    _same(cached, whole)


def test_a_changed_shared_definition_checks_again_every_model_reaching_it(warm: Path):
    pack_dir = warm
    _edit(
        pack_dir / "shared" / "common.rule",
        "exists(official_circle c where c.person_id = person and c.township = town)",
        "exists(official_circle c where c.township = town and c.person_id = person)",
    )
    users = {
        p.stem
        for p in (pack_dir / "models").rglob("*.rule")
        if re.search(r"\b(in_official_circle|related_to_township)\(", p.read_text("utf-8"))
    }
    cached, whole = _checked(pack_dir)
    assert set(cached.models_checked) == users and len(users) == 6
    _same(cached, whole)


def test_a_model_whose_definition_changed_type_gets_its_diagnostic(warm: Path):
    pack_dir = warm
    """FUN03's file is unchanged; the definition its `where` calls now gives a string."""
    _edit(
        pack_dir / "shared" / "common.rule",
        "exists(official_circle c where c.person_id = person and c.township = town)",
        "coalesce(person, town)",
    )
    cached, whole = _checked(pack_dir)
    _same(cached, whole)
    assert cached.pack is None
    where = {Path(d.span.file).stem for d in cached.diagnostics if d.span is not None}
    assert {"FUN03", "FIN05", "HOU05"} <= where
    assert {"FUN03", "FIN05", "HOU05"} <= set(cached.models_checked)


def test_a_new_shared_name_checks_every_model_again(warm: Path):
    pack_dir = warm
    """A name a model reads may now be a definition's: the names are part of every model's key."""
    with (pack_dir / "shared" / "common.rule").open("a", encoding="utf-8") as out:
        out.write('\ndefine 新定义(x: int) "新的" = x + 1\n')
    cached, whole = _checked(pack_dir)
    assert len(cached.models_checked) == 35
    _same(cached, whole)


def test_a_model_warning_is_said_again_when_its_outcome_is_reused(warm: Path):
    pack_dir = warm
    _edit(
        pack_dir / "models" / "assets" / "AST01.rule",
        "{pct($rent_floor_ratio)}（",
        "{pct($rent_floor_ratio)}%（",
    )
    first = api.check(pack_dir, cache=True, examples=False)
    assert first.pack is not None and _codes(first) == {"W321", "E710"}
    cached, whole = _checked(pack_dir)
    assert cached.models_checked == [] and [d.code for d in cached.diagnostics] == ["W321"]
    _same(cached, whole)


def test_a_check_with_an_error_keeps_no_model(warm: Path):
    pack_dir = warm
    models = pack_dir / FOLDER / MODELS
    before = sorted(p.name for p in models.iterdir())
    _edit(pack_dir / "models" / "funds" / "FUN06.rule", "severity", "severity 紫色 #")
    report = api.check(pack_dir, cache=True)
    assert not report.ok
    assert sorted(p.name for p in models.iterdir()) == before
    cached, whole = _checked(pack_dir)
    assert cached.models_checked == ["FUN06"]  # the others as they were: unchanged
    _same(cached, whole)


def test_corrupt_or_foreign_model_files_are_ignored(warm: Path):
    pack_dir = warm

    class Payload:
        def __reduce__(self):
            return (shutil.rmtree, (str(pack_dir),))

    files = sorted((pack_dir / FOLDER / MODELS).glob("*.pickle"))
    assert len(files) == 35
    files[0].write_bytes(b"\x80\x05 not a pickle")
    files[1].write_bytes(pickle.dumps(Payload()))
    files[2].write_bytes(pickle.dumps((check_cache.FORMAT, "wrong", "shape")))
    kept = pickle.loads(files[3].read_bytes())
    files[3].write_bytes(pickle.dumps((check_cache.FORMAT + 1, *kept[1:])))  # another format
    cached, whole = _checked(pack_dir)
    assert len(cached.models_checked) == 4
    _same(cached, whole)
    assert pack_dir.is_dir()


def test_the_engine_key_is_recorded_with_the_stamp_it_was_found_at(warm: Path):
    """A fresh check takes the engine's key from `.oversight/engine.json` at the same stamp."""
    recorded = json.loads((warm / FOLDER / check_cache.ENGINE).read_text(encoding="utf-8"))
    assert recorded == {
        "stamp": check_cache.engine_stamp(),
        "key": check_cache.engine_key_of_files(),
    }


def test_an_engine_key_recorded_at_another_stamp_is_not_taken(
    warm: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(check_cache, "KNOWN_ENGINE_KEYS", {})
    monkeypatch.setattr(check_cache, "engine_key", check_cache.engine_key.__wrapped__)
    engine = warm / FOLDER / check_cache.ENGINE
    engine.write_text(json.dumps({"stamp": "0" * 64, "key": "1" * 64}), encoding="utf-8")
    CheckCache.of(warm)
    assert check_cache.engine_key() != "1" * 64
    monkeypatch.setattr(check_cache, "engine_stamp", lambda: "0" * 64)
    assert check_cache.engine_key() == "1" * 64  # what a stamp that matched would give


def test_a_model_read_as_an_outline_is_read_whole_to_be_checked_again(warm: Path):
    """Unchanged files come as outlines; a model to check again is read whole, or parsed again."""
    parsed = warm / FOLDER / PARSED
    outlines = sorted(parsed.glob(f"*{check_cache.OUTLINE}.pickle"))
    assert len(outlines) == 35  # one per model file; the shared file and the index are whole
    gone = []
    for tree in parsed.glob("*.pickle"):
        held = pickle.loads(tree.read_bytes())
        if tree not in outlines and "HOU05" in getattr(held, "path", ""):
            tree.unlink()  # HOU05's whole tree is gone: it is parsed again
            gone.append(tree)
    assert len(gone) == 1
    _edit(
        warm / "shared" / "common.rule",
        "exists(official_circle c where c.person_id = person and c.township = town)",
        "exists(official_circle c where c.township = town and c.person_id = person)",
    )
    cached, whole = _checked(warm)
    assert "HOU05" in cached.models_checked and len(cached.models_checked) == 6
    _same(cached, whole)
