"""pack.yaml read as ruamel.yaml's round-trip reader reads it, by libyaml where it can.

The round-trip reader gives maps and lists that know where each key and item sits
(`.lc`), which every pack.yaml diagnostic points at; but it scans in Python, about
0.1 s for the demo pack's 2,300 nodes, a tenth of a check with no examples. libyaml
(ruamel.yaml.clib, ruamel.yaml's own C reader) scans and parses the same text in C,
and ruamel.yaml's round-trip constructor builds the very same maps, lists, values
and key positions from its events, in a fifth of the time.

The two differ in three places, and the quick reading is used only where none
can matter: a value written with a tag (`!!str 123`: the round-trip reader keeps
a `TaggedScalar`) is read the round-trip way; an empty value's own position
differs (libyaml puts it after the colon), so whoever words a problem from
positions reads the text again with `quick=False` (dsl/pack.py `load_pack`); and
anything libyaml refuses or trips on is read the round-trip way, whose error is
the one reported. tests/dsl/test_yaml_reading.py holds the two readings equal on
every YAML file of the repository and on a file of YAML's corners.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.main import CParser  # None without ruamel.yaml.clib


class _FromLibyaml(RoundTripConstructor):
    """The round-trip constructor on libyaml's events: there are no comments to keep."""

    comment_handling = None


def read_yaml(text: str, quick: bool = True) -> Any:
    """`text` as `YAML(typ="rt").load` reads it; by libyaml when `quick` and it can."""
    if quick and CParser is not None and "!" not in text:
        reader = YAML(typ="rt")
        reader.Parser, reader.Scanner, reader.Reader = CParser, None, None
        reader.Constructor = _FromLibyaml
        try:
            return reader.load(text)
        except Exception:  # the round-trip reader says what is wrong, below
            pass
    return YAML(typ="rt").load(text)


def quick_available() -> bool:
    """Whether libyaml is installed for ruamel.yaml (ruamel.yaml.clib)."""
    return CParser is not None
