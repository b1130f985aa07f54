"""pack.yaml read by libyaml gives what ruamel.yaml's round-trip reader gives.

dsl/yaml_reading.py reads by libyaml (ruamel.yaml.clib) for speed; every value,
type and position a diagnostic may point at must be the round-trip reader's. The
one known difference, an empty value's own position, never reaches a user:
load_pack words problems from a round-trip reading.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.error import MarkedYAMLError

from dsl.diagnostics import DiagnosticError
from dsl.pack import load_pack, read_pack
from dsl.yaml_reading import quick_available, read_yaml

ROOT = Path(__file__).resolve().parents[2]

CORNERS = """\
# a comment
base: &base
  underscored: 1_000
  hex: 0x1F
  octal: 0o17
  leading_zero: 007
  exponent: 1.5e3
  infinite: .inf
  negative_zero: -0.0
  trailing_dot: 1.
  yes_is_text: yes
  tilde: ~
  day: 2021-12-31
  moment: 2021-12-31T10:00:00
  double: "quoted: \\u4e2d"
  single: 'it''s'
  literal: |
    line one
    line two
  folded: >
    folded
    text
  flow: [1, 2.5, {k: v}, [nested]]
merged:
  <<: *base
  own: 1
seq:
  - *base
  - 中文：值
  -   - nested
      - list
  - {a: 1, b: [x, y]}
"key: with colon": 1
? complex key
: value
empty_map: {}
empty_list: []
"""


def _repository_yaml() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.yaml", "*.yml"], cwd=ROOT, capture_output=True, text=True
    )
    names = listed.stdout.split() if listed.returncode == 0 else []
    files = [ROOT / name for name in names if not name.startswith("benchmarks/results/")]
    return files or sorted((ROOT / "policies").glob("*.yaml"))


def _differences(slow: Any, quick: Any, path: str = "") -> list[str]:
    """Where two readings differ: value, type, a container's, a key's or an item's position.

    An empty value's own position is left out: the one place the readings differ.
    """
    found = []
    if type(slow) is not type(quick):
        return [f"{path}: {type(slow).__name__} / {type(quick).__name__}"]
    if slow != quick:
        found.append(f"{path}: {slow!r} / {quick!r}")
    if hasattr(slow, "lc") and (slow.lc.line, slow.lc.col) != (quick.lc.line, quick.lc.col):
        found.append(f"{path}: at {slow.lc.line}:{slow.lc.col} / {quick.lc.line}:{quick.lc.col}")
    if isinstance(slow, dict):
        for key in slow:
            if key in slow.lc.data:  # a merged key (<<) has no position of its own
                if slow.lc.key(key) != quick.lc.key(key):
                    found.append(f"{path}/{key}: key at {slow.lc.key(key)} / {quick.lc.key(key)}")
                if slow[key] is not None and slow.lc.value(key) != quick.lc.value(key):
                    found.append(f"{path}/{key}: value at {slow.lc.value(key)}")
            found += _differences(slow[key], quick[key], f"{path}/{key}")
    elif isinstance(slow, list):
        for i, (a, b) in enumerate(zip(slow, quick, strict=True)):
            if slow.lc.item(i) != quick.lc.item(i):
                found.append(f"{path}[{i}]: at {slow.lc.item(i)} / {quick.lc.item(i)}")
            found += _differences(a, b, f"{path}[{i}]")
    return found


def test_libyaml_is_installed_with_the_engine():
    assert quick_available()  # pyproject.toml: ruamel.yaml.clib


@pytest.mark.parametrize("path", _repository_yaml(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_yaml_file_of_the_repository_reads_the_same(path: Path):
    text = path.read_text(encoding="utf-8")
    assert _differences(read_yaml(text, quick=False), read_yaml(text)) == []


def test_yamls_corners_read_the_same():
    slow, quick = YAML(typ="rt").load(CORNERS), read_yaml(CORNERS)
    assert _differences(slow, quick) == []
    assert quick["merged"]["hex"] == 31 and quick["seq"][0]["literal"] == "line one\nline two\n"


def test_a_tagged_value_is_read_the_round_trip_way():
    value = read_yaml("p: !!str 123\n")["p"]
    assert isinstance(value, TaggedScalar)  # libyaml would have made it "123"


@pytest.mark.parametrize(
    "broken", ["a: [1, 2\n", "a: 1\n a: 2\n", "a: 1\na: 2\n", "\tkey: tab\n", "a: *nowhere\n"]
)
def test_yaml_that_is_not_yaml_fails_as_the_round_trip_reader_fails(broken: str):
    with pytest.raises(MarkedYAMLError) as expected:
        YAML(typ="rt").load(broken)
    with pytest.raises(MarkedYAMLError) as got:
        read_yaml(broken)
    assert type(got.value) is type(expected.value) and str(got.value) == str(expected.value)


def test_a_problem_is_placed_where_the_round_trip_reader_places_it(tmp_path: Path):
    # An empty value in a map: libyaml places it after its colon (line 10), the round-trip
    # reader at the next key (line 11), where pack.yaml's problems have always pointed.
    (tmp_path / "pack.yaml").write_text(
        "pack:\n  name: t\n  version: 0.1.0\ndomains:\n  ENG: 工程管理\nparameters:\n  p:\n"
        "    type: map<string, int>\n    default:\n      公开招标:\n      询价: 3\n"
        "    description: 说明\nsources: {}\n",
        encoding="utf-8",
    )
    with pytest.raises(DiagnosticError) as quick:
        read_pack(tmp_path, None, quick=True)
    with pytest.raises(DiagnosticError) as loaded:
        load_pack(tmp_path)
    [at_colon], [problem] = quick.value.diagnostics, loaded.value.diagnostics
    assert (at_colon.span.line, at_colon.span.column) == (10, 12)
    assert (problem.code, problem.span.line, problem.span.column) == ("E691", 11, 7)


def test_the_demo_pack_loads_the_same_either_way():
    quick = read_pack(ROOT / "policies", None, quick=True)
    slow = read_pack(ROOT / "policies", None, quick=False)
    assert quick == slow
    # The spans are left out of the comparison above (compare=False): compared here.
    assert [p.span for p in quick.parameters.values()] == [p.span for p in slow.parameters.values()]
    assert [s.span for s in quick.sources.values()] == [s.span for s in slow.sources.values()]
    assert quick.township_names_span == slow.township_names_span
