"""The chain as README and the Chinese guide show it: run → Excel → score → report → drafts.

Both documents hold the same block of commands; it is run here as written, in a
fresh folder, with the demo at a small size. Where the block says a handler fills
in the workbook, this test does what a handler would: one warning waiting for
核查 is verified 属实, one overdue warning is rectified. What follows must show
both: the overdue listing loses the rectified one, the common problems and the
township's 纪检监察建议书 count the new confirmation, figures read back from the
Word file as python-docx sees it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import docx
import duckdb
import openpyxl
import pytest

from engine.cli import main
from engine.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
SIZE = "0.05"
END = date(2021, 12, 31)


def chain_block(document: Path, heading: str) -> list[str]:
    """The lines of the first ```sh block after `heading` in `document`."""
    text = document.read_text(encoding="utf-8").split(heading, 1)[1]
    return text.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()


def commands(lines: list[str]) -> list[list[str] | None]:
    """Each line as `oversight` arguments; None where a person does something by hand."""
    out: list[list[str] | None] = []
    for line in lines:
        if line.startswith("#"):
            out.append(None)
            continue
        words = line.split("#", 1)[0].split()
        assert words[0] == "oversight", line
        out.append(words[1:])
    return out


def readme_chain() -> list[str]:
    return chain_block(ROOT / "README.md", "### The chain, end to end")


def test_readme_and_the_guide_show_the_same_chain():
    guide = chain_block(ROOT / "docs" / "从预警到整改.md", "## 一、整条链")
    assert guide == readme_chain()


@pytest.fixture
def fresh_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    monkeypatch.chdir(tmp_path)
    for name in ("OVERSIGHT_WAREHOUSE", "OVERSIGHT_POLICIES"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def fill_in(workbook: Path) -> dict[str, tuple[str, str, str]]:
    """What a handler does: verify one waiting warning 属实, rectify one overdue one.

    Returns (model, key, township name) of each, by what was done to it.
    """
    book = openpyxl.load_workbook(workbook)
    sheet = book["处置"]
    header = [cell.value for cell in sheet[1]]
    at = {name: header.index(name) for name in header}
    done: dict[str, tuple[str, str, str]] = {}
    for row in sheet.iter_rows(min_row=2):
        status = row[at["处置状态"]].value
        who = (row[at["模型编号"]].value, row[at["预警编号"]].value, row[at["乡镇"]].value)
        verified = row[at["核查日期"]].value
        if "verified" not in done and status == "待核查" and who[2]:
            row[at["核查日期"]].value = datetime(2021, 12, 20)
            row[at["核查结果"]].value = "属实"
            done["verified"] = who
        elif (
            "rectified" not in done
            and row[at["核查结果"]].value in ("属实", "部分属实")
            and row[at["整改日期"]].value is None
            and verified is not None
            and verified.date() <= date(2021, 9, 1)  # overdue by the year's end
        ):
            row[at["整改日期"]].value = datetime(2021, 12, 1)
            done["rectified"] = who
    book.save(workbook)
    assert set(done) == {"verified", "rectified"}, "the demo has both kinds of warning"
    return done


def in_warehouse(folder: Path, query: str, *args) -> list[tuple]:
    with duckdb.connect(str(folder / "oversight.duckdb"), read_only=True) as connection:
        return connection.execute(query, list(args)).fetchall()


def test_the_chain_as_the_documents_show_it(fresh_folder: Path, capsys):
    outputs: dict[str, str] = {}
    done: dict[str, tuple[str, str, str]] = {}
    steps = commands(readme_chain())
    for i, args in enumerate(steps):
        if args is None:
            workbook = next(a for a in steps[i - 1] if a.endswith(".xlsx"))
            done = fill_in(fresh_folder / workbook)
            continue
        if args[0] == "demo":
            args = [*args, "--size", SIZE, "--format", "json"]
        code = main(args)
        captured = capsys.readouterr()
        assert code == ExitCode.OK, f"oversight {' '.join(args)}: exit {code}\n{captured.err}"
        assert "Traceback" not in captured.err
        outputs[args[0] + (" overdue" if "overdue" in args else "")] = captured.out
    assert done, "the block says where the handler fills in the workbook"

    # Overdue on 2021-12-31, from the warehouse's records: less the one the handler rectified.
    overdue = in_warehouse(
        fresh_folder,
        """select l.model_id, l.warning_key from oversight_ledger l
           join sup_disposal d using (model_id, warning_key)
           where d.outcome in ('属实', '部分属实') and d.rectified_on is null
             and d.verified_on + 61 <= ?""",
        END,
    )
    # Not on a terminal the listing is CSV, with the BOM that makes Excel read it as UTF-8.
    listed = list(csv.DictReader(io.StringIO(outputs["warnings overdue"].lstrip("\ufeff"))))
    rectified = done["rectified"][:2]
    assert rectified in set(overdue)
    assert {(r["model_id"], r["warning_key"]) for r in listed} == set(overdue) - {rectified}

    # The common problems count the warning the handler verified.
    model, _, township = done["verified"]
    (confirmed,) = in_warehouse(
        fresh_folder,
        """select count(*) from oversight_ledger l join sup_disposal d using (model_id, warning_key)
           where l.model_id = ? and d.outcome in ('属实', '部分属实')""",
        model,
    )[0]
    problems = json.loads((fresh_folder / "建议书-2021" / "共性问题.json").read_text("utf-8"))
    by_model = {p["model_id"]: p for p in problems["problems"]}
    assert by_model[model]["confirmed"] == confirmed + 1

    # The township's letter, read back from Word, counts it too.
    (before,) = in_warehouse(
        fresh_folder,
        """select count(*) from oversight_ledger l join ref_township r using (township)
           join sup_disposal d using (model_id, warning_key)
           where r.name = ? and d.outcome in ('属实', '部分属实')""",
        township,
    )[0]
    letter = fresh_folder / "建议书-2021" / f"纪检监察建议书_{township}.docx"
    text = "\n".join(p.text for p in docx.Document(str(letter)).paragraphs)
    match = re.search(r"发出预警(\d+)条，经核查属实（含部分属实）(\d+)条", text)
    assert match and int(match.group(2)) == before + 1

    report = (fresh_folder / "廉情报告-2021.html").read_text(encoding="utf-8")
    assert f"{township}廉情详情" in report
