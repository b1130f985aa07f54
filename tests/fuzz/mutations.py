"""Ways to damage a rule file, shared by the fuzzer (fuzz_rules.py) and the test suite.

Each mutation takes the text of one of the pack's own rule files and a
random.Random, and returns the damaged text. They imitate what really happens
to rule files — a token typed twice or lost, two swapped, a file cut short by
a full disk, Chinese or full-width characters from the input method, a NUL or
a byte order mark from another editor, Windows line ends — and what an
attacker or a broken generator might write: 5,000 brackets, `not` or `-`
hundreds deep, `exists` inside `exists`, a chain of hundreds of `and`,
numbers of thousands of digits, names of 100,000 characters.

`mutate` applies one to three of them; the same seed always gives the same text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

# Words, numbers, strings, comments, runs of spaces and single other characters:
# what "a token" means for deleting, duplicating and swapping.
_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|\$?[A-Za-z_\u3400-\u9fff][\w\u3400-\u9fff]*'
    r"|\d[\d_]*(?:\.\d+)?|[ \t]+|\n|[<>!=]=|."
)
_NAME = re.compile(r"(?<![\w$\u3400-\u9fff])[A-Za-z_\u3400-\u9fff][\w\u3400-\u9fff]*")
_NUMBER = re.compile(r"(?<![\w.])\d[\d_]*(?:\.\d+)?")
_CONDITION = re.compile(r"(?<![\w.])[a-z]\w*\.\w+\s*(?:>=|<=|!=|=|<|>)")

# What an input method, a word processor or a web page puts into text.
WIDE = [
    *"，（）：＝、。；【】“”‘’＜＞！＋－＊／＄｛｝．　＃％０１９",
    *"项目金额万元乡镇终止预警核查",
    "\u00a0",
    "\u200b",
    "≥",
    "≤",
    "×",
    "—",
]
HUGE_NUMBERS = [
    str(10**16),
    str(2**63),
    str(2**63 - 1),
    str(-(2**63)),
    "1" + "0" * 38,
    "9" * 40,
    "9" * 4301,
    "88320000.123",
    "0.005",
    "1." + "1" * 40,
    "1_000_000_000_000_000_000",
]
HUGE_NAMES = [65, 1_000, 100_000]
DEEP = [("not ", 160), ("- ", 160), ("not (", 300), ("-(", 300)]


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _pick_token(text: str, rng: random.Random) -> tuple[list[str], int]:
    tokens = _tokens(text)
    return tokens, rng.randrange(len(tokens)) if tokens else 0


def delete_tokens(text: str, rng: random.Random) -> str:
    """One to three tokens gone, as when a word is deleted by mistake."""
    tokens, at = _pick_token(text, rng)
    return "".join(tokens[:at] + tokens[at + rng.randint(1, 3) :])


def duplicate_tokens(text: str, rng: random.Random) -> str:
    """One to five tokens written twice (sometimes many times)."""
    tokens, at = _pick_token(text, rng)
    run = tokens[at : at + rng.randint(1, 5)]
    times = rng.choice([1, 1, 1, 2, 50])
    return "".join(tokens[: at + len(run)] + run * times + tokens[at + len(run) :])


def swap_tokens(text: str, rng: random.Random) -> str:
    """Two tokens, next to each other or far apart, changed places."""
    tokens, at = _pick_token(text, rng)
    if len(tokens) < 2:
        return text
    other = min(at + 1, len(tokens) - 1) if rng.random() < 0.5 else rng.randrange(len(tokens))
    tokens[at], tokens[other] = tokens[other], tokens[at]
    return "".join(tokens)


def truncate(text: str, rng: random.Random) -> str:
    """The file cut short anywhere, as by a full disk or a copy that stopped."""
    return text[: rng.randrange(len(text) + 1)]


def wide_character(text: str, rng: random.Random) -> str:
    """A Chinese or full-width character typed in, or in place of, another."""
    at = rng.randrange(len(text) + 1)
    replace = rng.random() < 0.5
    return text[:at] + rng.choice(WIDE) + text[at + replace :]


def nul(text: str, rng: random.Random) -> str:
    """A NUL character, as some editors and broken copies leave."""
    at = rng.randrange(len(text) + 1)
    return text[:at] + "\x00" + text[at:]


def bom(text: str, rng: random.Random) -> str:
    """A byte order mark at the start (sometimes twice), or in the middle of the file."""
    if rng.random() < 0.6:
        return "\ufeff" * rng.choice([1, 2]) + text
    at = rng.randrange(len(text) + 1)
    return text[:at] + "\ufeff" + text[at:]


def crlf(text: str, rng: random.Random) -> str:
    """Windows line ends everywhere, or a lone carriage return."""
    if rng.random() < 0.7:
        return text.replace("\n", "\r\n")
    at = rng.randrange(len(text) + 1)
    return text[:at] + "\r" + text[at:]


def deep_brackets(text: str, rng: random.Random) -> str:
    """A token wrapped in 5,000 brackets, or 5,000 that never close."""
    tokens, at = _pick_token(text, rng)
    depth = rng.choice([5_000, 200, 65])
    closing = ")" * depth if rng.random() < 0.8 else ""
    return "".join(
        [*tokens[:at], "(" * depth, tokens[at] if tokens else "", closing, *tokens[at + 1 :]]
    )


def deep_prefix(text: str, rng: random.Random) -> str:
    """A condition with `not` or `-` hundreds deep in front, or nested `exists`."""
    places = [m.start() for m in _CONDITION.finditer(text)] or [rng.randrange(len(text) + 1)]
    at = rng.choice(places)
    if rng.random() < 0.25:
        depth = rng.choice([9, 20, 64])
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        inner = "exists(trade_tender t where " * depth
        return text[:at] + inner + text[at:end] + ")" * depth + text[end:]
    prefix, most = rng.choice(DEEP)
    depth = rng.randint(most // 3, most)
    closing = ")" * depth if prefix.endswith("(") else ""
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    return text[:at] + prefix * depth + text[at:end] + closing + text[end:]


def long_chain(text: str, rng: random.Random) -> str:
    """A condition followed by hundreds of `and`/`or` terms."""
    places = [m.start() for m in _CONDITION.finditer(text)]
    if not places:
        return text
    at = rng.choice(places)
    end = text.find("\n", at)
    end = len(text) if end < 0 else end
    condition = text[at:end].strip()
    word = rng.choice([" and ", " or "])
    return text[:end] + (word + condition) * rng.choice([40, 63, 328, 1_000]) + text[end:]


def huge_number(text: str, rng: random.Random) -> str:
    """A number replaced by a huge, very precise or too long one."""
    numbers = list(_NUMBER.finditer(text))
    if not numbers:
        return text
    match = rng.choice(numbers)
    return text[: match.start()] + rng.choice(HUGE_NUMBERS) + text[match.end() :]


def huge_name(text: str, rng: random.Random) -> str:
    """A name replaced by one of 65, 1,000 or 100,000 characters."""
    names = list(_NAME.finditer(text))
    if not names:
        return text
    match = rng.choice(names)
    length = rng.choice(HUGE_NAMES)
    word = match.group()
    long = (word * (length // len(word) + 1))[:length]
    return text[: match.start()] + long + text[match.end() :]


MUTATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "delete": delete_tokens,
    "duplicate": duplicate_tokens,
    "swap": swap_tokens,
    "truncate": truncate,
    "wide": wide_character,
    "nul": nul,
    "bom": bom,
    "crlf": crlf,
    "brackets": deep_brackets,
    "deep": deep_prefix,
    "chain": long_chain,
    "number": huge_number,
    "name": huge_name,
}
# Typing slips are most of what happens; every kind still comes up hundreds of times
# in 20,000 mutations.
WEIGHTS = {
    "delete": 6,
    "duplicate": 6,
    "swap": 6,
    "truncate": 2,
    "wide": 4,
    "nul": 1,
    "bom": 1,
    "crlf": 1,
    "brackets": 2,
    "deep": 2,
    "chain": 2,
    "number": 3,
    "name": 2,
}


def mutate(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """`text` with one to three mutations applied, and their names in order."""
    kinds = list(WEIGHTS)
    weights = [WEIGHTS[k] for k in kinds]
    applied = rng.choices(kinds, weights, k=rng.choice([1, 1, 1, 2, 3]))
    for kind in applied:
        text = MUTATIONS[kind](text, rng)
    return text, applied
