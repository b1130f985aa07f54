"""`check` compares compiled/ by its fingerprint: it compiles only the models whose inputs changed.

compiled/fingerprint.json records, per model and the index, a digest of what its
files were made from (engine/compiler/reviewed.py `owner_inputs`). A model whose
digest is unchanged is not compiled again, but its files are still read and
compared with what the fingerprint says was written: compiled/ stale in any way
still fails the check. Every check here is without the .oversight/ cache.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine import api
from engine.compiler import files, reviewed
from engine.compiler.dialects import DIALECTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """A copy of the pack and its committed compiled/ (current: tests/engine/test_compiled.py)."""
    shutil.copytree(ROOT / "policies", tmp_path / "policies", ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(ROOT / "compiled", tmp_path / "compiled")
    return tmp_path


@pytest.fixture
def compiled_models(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the models `check` compiles (once per dialect), as it compiles them."""
    seen: list[str] = []
    compile_models = files.compile_models

    def counting(pack, models, target):
        models = list(models)
        seen.extend(m.id for m in models)
        return compile_models(pack, models, target)

    monkeypatch.setattr(files, "compile_models", counting)
    return seen


def _stale(report: api.CheckReport) -> str:
    [problem] = [d for d in report.diagnostics if d.code == "E710"]
    return problem.message_zh


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_current_compiled_folder_passes_without_compiling_anything(copied, compiled_models):
    report = api.check(copied / "policies", examples=False)
    assert report.ok, report.diagnostics
    assert compiled_models == []


def test_a_file_edited_by_hand_is_caught_without_compiling(copied, compiled_models):
    _edit(copied / "compiled" / "mysql" / "FIN02.sql", "SELECT", "SELECT DISTINCT")
    (copied / "compiled" / "hive" / "ENG05.sql").unlink()
    (copied / "compiled" / "trino" / "EXTRA01.sql").write_text("SELECT 1;\n", encoding="utf-8")
    stale = _stale(api.check(copied / "policies", examples=False))
    for name in ("mysql/FIN02.sql", "hive/ENG05.sql", "trino/EXTRA01.sql"):
        assert name in stale
    assert "fingerprint.json" not in stale  # it still says what was written
    assert compiled_models == []


def test_an_edited_rule_is_stale_by_its_files_headers_without_compiling(copied, compiled_models):
    """Each file's header names the rule file's sha256: an edit makes every one of them
    differ from what compiling would write, which check says without compiling it."""
    _edit(copied / "policies" / "models" / "finance" / "FIN01.rule", "柜面现金", "柜台现金")
    report = api.check(copied / "policies", examples=False)
    [problem] = [d for d in report.diagnostics if d.code == "E710"]
    assert problem.message_en.startswith(f"compiled/ is stale: {len(DIALECTS) + 1} files differ")
    assert "FIN01.sql" in problem.message_zh and "fingerprint.json" in problem.message_zh
    assert compiled_models == []


def test_a_file_whose_header_is_current_is_compiled_to_compare(copied, compiled_models):
    """A shared item edited changes what its models compile from, not their files' headers:
    those models are compiled to see whether their SQL changed (here it did not)."""
    _edit(copied / "policies" / "shared" / "common.rule", '"公职人员及亲属圈"', '"公职人员亲属圈"')
    report = api.check(copied / "policies", examples=False)
    assert _stale(report).endswith("fingerprint.json")  # the only file that differs
    reaching = set(compiled_models)
    assert reaching and "official_circle" not in reaching
    assert compiled_models == sorted(reaching) * len(DIALECTS)


def test_a_rule_edited_back_is_current_again(copied, compiled_models):
    rule = copied / "policies" / "models" / "finance" / "FIN01.rule"
    text = rule.read_text(encoding="utf-8")
    _edit(rule, "柜面现金", "柜台现金")
    assert not api.check(copied / "policies", examples=False).ok
    rule.write_text(text, encoding="utf-8")
    assert api.check(copied / "policies", examples=False).ok
    assert compiled_models == []


def test_a_fingerprint_edited_to_vouch_for_another_text_still_fails(copied, compiled_models):
    """The fingerprint is compared as every other file: it must be what compiling writes."""
    fingerprint = copied / "compiled" / reviewed.FINGERPRINT
    record = json.loads(fingerprint.read_text(encoding="utf-8"))
    record["models"]["ENG02"] = "0" * 64
    fingerprint.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", "utf-8")
    stale = _stale(api.check(copied / "policies", examples=False))
    assert stale.endswith("fingerprint.json")
    assert compiled_models == ["ENG02"] * len(DIALECTS)  # not vouched for: compiled again


@pytest.mark.parametrize("garbled", ["", "{", '{"models": []}', '{"models": {}, "files": 1}'])
def test_a_garbled_fingerprint_means_compiling_every_model(copied, compiled_models, garbled):
    (copied / "compiled" / reviewed.FINGERPRINT).write_text(garbled, encoding="utf-8")
    report = api.check(copied / "policies", examples=False)
    assert _stale(report).endswith("fingerprint.json")  # the only file that differs
    assert len(compiled_models) == len(report.pack.models) * len(DIALECTS)


def test_another_sqlglot_compiles_everything_again(copied, compiled_models, monkeypatch):
    """A new sqlglot may write other text: check compiles to see, though runs use the files."""
    monkeypatch.setattr(reviewed, "compiler_key", lambda: "another sqlglot")
    report = api.check(copied / "policies", examples=False)
    assert len(compiled_models) == len(report.pack.models) * len(DIALECTS)
    assert _stale(report).endswith("fingerprint.json")  # the files' text is the same


def test_what_the_fingerprint_records_is_what_compiling_writes(pack):
    written = json.loads(files.compiled_files(pack, DIALECTS[:1])[reviewed.FINGERPRINT])
    assert written["models"] == reviewed.owner_inputs(pack)
    assert set(written["models"]) == {*pack.models, "index"}


def test_remade_reads_the_first_two_lines_of_each_dialects_file(copied):
    pack = api.load_pack(copied / "policies")
    out = copied / "compiled"
    assert not reviewed.remade(out, pack, "FIN01")  # as compiled
    assert not reviewed.remade(out, pack, "index")
    # One dialect's file still as compiled is enough to compile and compare the model.
    for dialect in DIALECTS[1:]:
        (out / dialect / "FIN01.sql").unlink()
    assert not reviewed.remade(out, pack, "FIN01")
    (out / DIALECTS[0] / "FIN01.sql").unlink()
    assert reviewed.remade(out, pack, "FIN01")  # no file at all: every one is stale
    for dialect in DIALECTS:
        path = out / dialect / "FIN02.sql"
        lines = path.read_text(encoding="utf-8").split("\n", 2)
        path.write_text("\n".join([lines[0], lines[1].replace(", pack ", ", pack 9"), lines[2]]))
    assert reviewed.remade(out, pack, "FIN02")  # another pack version named in each header
