"""Syntax errors in the words of the people who make them.

`FRIENDLY_ERRORS` lists mistakes policy staff really make, each with a small
rule text that fails the same way; the parser matches a real error against
these (same parser state, same kind of offending token) and, on a match, says
what was meant. The state after a value depends on the kind of value, so a
mistake may need one example per kind (see given_missing_comma).

Each example is written the way real models are (a title, a clause before
the mistaken one, `as_of` before `given`, a row three columns long): Lark's
ParserState also compares how deep the parser's stack is, and that depends on
what came before. tests/dsl/test_grammar.py keeps every example failing as
its own mistake.

`describe_expected` words the list of tokens the parser would have taken,
`hint_for_character` explains a character the lexer cannot read,
`hint_for_token` suggests what an unexpected word was meant to be, and
`INCOMPLETE_HOLE` words a message `{…}` that ends too early.
"""

from __future__ import annotations

import difflib

from dsl.messages import message

# The start of a typical example row, three columns in: the state of the parser
# at a mistake in a row depends on whether the row is one, two or more columns long.
_ROW = 'model M "t" { domain d example "e" { as_of 2021-01-01 given s { a: 1, b: 1, '

# label: (code, message_zh, message_en, hint, an example text that fails this way);
# the code and the messages are the catalog's (dsl/messages.toml).
FRIENDLY_ERRORS: dict[str, tuple[str, str, str, str, str]] = {
    "exists_without_brackets": (
        *message("E110"),
        "写成 not exists(trade_tender t where t.project_id = p.project_id)",
        'model M "t" { domain d where not exists trade_tender t where t.a = p.a }',
    ),
    "double_equals": (
        *message("E111"),
        '把 == 改为 =，例如 p.status = "终止"',
        'model M "t" { domain d where p.a == 1 }',
    ),
    "missing_alias_dot": (
        *message("E112"),
        "在 from 中给来源起别名（from dr_project p），再用 p.列名 引用",
        'model M "t" { domain d where p investment = 1 }',
    ),
    "given_missing_comma": (
        *message("E113"),
        '写成 given dr_project { project_id: "P1", investment: 100 }',
        _ROW + "c: 2 d: 3 } } }",
    ),
    # The parser stops right after the value before the missing comma, in a state
    # that depends on the kind of value: one example for each common kind.
    "given_missing_comma_after_text": (
        *message("E113"),
        '写成 given dr_project { project_id: "P1", investment: 100 }',
        _ROW + 'c: "x" d: 3 } } }',
    ),
    "given_missing_comma_after_date": (
        *message("E113"),
        '写成 given dr_project { project_id: "P1", investment: 100 }',
        _ROW + "c: 2021-01-01 d: 3 } } }",
    ),
    "given_missing_colon": (
        *message("E114"),
        '写成 project_id: "P1"',
        _ROW + "c 1 } } }",
    ),
    "given_slash_date": (
        *message("E115"),
        "把 2021/04/20 写成 2021-04-20（不加引号）",
        _ROW + "c: 2021/04/20 } } }",
    ),
    "as_of_needs_date": (
        *message("E116"),
        "例如 as_of 2021-11-15（不加引号）",
        'model M "t" { domain d example "e" { as_of "2021-11-15" } }',
    ),
    "model_without_id": (
        *message("E117"),
        'model ENG01 "应招未招" { … }',
        'model "应招未招" { }',
    ),
    "let_without_equals": (
        *message("E118"),
        "例如 let paid = (from fin_payment f where f.contract_id = c.contract_id "
        "select sum(f.amount))",
        'model M "t" { domain d let x p.a }',
    ),
    "severity_quoted": (
        *message("E119"),
        "例如 severity red",
        'model M "t" { domain d severity "red" }',
    ),
    "number_with_unit": (
        *message("E120"),
        "只写数字：金额以元计，400万 写作 4000000（或 4_000_000）；天数、月数也只写数字。"
        "阈值最好写成参数，例如 $tender_threshold / write the bare number, amounts in yuan",
        'model M "t" { domain d where p.a >= 400万 }',
    ),
    "is_not_value": (
        *message("E121.is_not"),
        '不等于写作 !=，例如 p.status != "终止"',
        'model M "t" { domain d where p.a is not "x" }',
    ),
    "is_value": (
        *message("E121.is"),
        '等于写作 =，例如 p.status = "终止"',
        'model M "t" { domain d where p.a is "x" }',
    ),
}


# A `{…}` of a message template that ends before its expression does: `{}`, `{p.}`.
# (code, message_zh, message_en, hint), in place of "the file ends too early".
INCOMPLETE_HOLE = (
    *message("E106"),
    "花括号中写一个值，例如 {p.name}、{wan(p.investment)}；要写花括号本身，请写成 {{ 或 }} / "
    "put a value in the braces, or write {{ and }} for braces themselves",
)


# How terminal names read in an "expected …" list.
_TERMINALS: dict[str, tuple[str, str]] = {
    "NAME": ("名称", "a name"),
    "STRING": ("带引号的文字", "a quoted string"),
    "NUMBER": ("数字", "a number"),
    "DATE": ("日期", "a date"),
    "DATETIME": ("日期时间", "a date and time"),
    "PARAM": ("参数 $名称", "a $parameter"),
    "COMP_OP": ("比较符号", "a comparison"),
    "LBRACE": ("「{」", "'{'"),
    "RBRACE": ("「}」", "'}'"),
    "LPAR": ("「(」", "'('"),
    "RPAR": ("「)」", "')'"),
    "LSQB": ("「[」", "'['"),
    "RSQB": ("「]」", "']'"),
    "COMMA": ("「,」", "','"),
    "COLON": ("「:」", "':'"),
    "DOT": ("「.」", "'.'"),
    "EQUAL": ("「=」", "'='"),
    "PLUS": ("「+」", "'+'"),
    "MINUS": ("「-」", "'-'"),
    "STAR": ("「*」", "'*'"),
    "SLASH": ("「/」", "'/'"),
}

# The words that start a clause of a model; when the parser would take most
# of them, "the next clause" says more than a list of fifteen keywords.
_CLAUSE_KEYWORDS = frozenset(
    {
        "DOMAIN",
        "SEVERITY",
        "STATUS",
        "NOTE",
        "PRECHECK",
        "FROM",
        "JOIN",
        "LEFT",
        "LET",
        "WHERE",
        "GROUP",
        "HAVING",
        "KEY",
        "TOWNSHIP",
        "AMOUNT",
        "MESSAGE",
        "MISSING",
        "ADVICE",
        "BASIS",
        "EXAMPLE",
    }
)
_TOP_KEYWORDS = frozenset({"MODEL", "DEFINE", "RELATION"})
# Everything that can start a value; "a value or a column" stands for all of them.
_VALUE_STARTS = frozenset(
    {
        "NAME",
        "NUMBER",
        "STRING",
        "DATE",
        "DATETIME",
        "PARAM",
        "LPAR",
        "MINUS",
        "AS_OF",
        "EXISTS",
        "CASE",
        "TRUE",
        "FALSE",
        "NULL",
        "NOT",
    }
)
# The order in which expected tokens are listed: what is most likely meant first.
_PRIORITY = [
    "AND",
    "OR",
    "COMP_OP",
    "RPAR",
    "RBRACE",
    "COMMA",
    "COLON",
    "EQUAL",
    "DOT",
    "LPAR",
    "LBRACE",
    "NAME",
    "STRING",
    "NUMBER",
    "DATE",
    "DATETIME",
    "PARAM",
    "NULL",
    "NOT",
    "IS",
    "IN",
    "BETWEEN",
    "BY",
    "ON",
    "SELECT",
    "PLUS",
    "MINUS",
    "STAR",
    "SLASH",
]


def describe_expected(terminals: list[str]) -> tuple[str, str]:
    """Chinese and English renderings of the tokens the parser would have accepted."""
    names = set(terminals)
    groups: list[tuple[str, str]] = []
    if len(names & _CLAUSE_KEYWORDS) >= 3:
        groups.append(
            (
                "下一个子句（如 where、key、township、message）",
                "the next clause (where, key, township, message, …)",
            )
        )
        names -= _CLAUSE_KEYWORDS | _TOP_KEYWORDS
    elif names >= _TOP_KEYWORDS:
        groups.append(("model、define 或 relation", "'model', 'define' or 'relation'"))
        names -= _TOP_KEYWORDS
    if {"NAME", "NUMBER", "STRING"} <= names:
        groups.append(
            (
                '一个值或列，如 p.status、100、"文字"、2021-04-20、$参数',
                'a value or a column, e.g. p.status, 100, "text", 2021-04-20, $param',
            )
        )
        names -= _VALUE_STARTS
    rank = {name: i for i, name in enumerate(_PRIORITY)}
    ordered = sorted(names, key=lambda n: (rank.get(n, len(rank)), n))
    # After a complete expression, "and", "or", a comparison or ")" come first;
    # then the groups; then everything else.
    lead = [n for n in ordered if n in ("AND", "OR", "COMP_OP", "RPAR")]
    rest = [n for n in ordered if n not in lead]
    items = [_word(n) for n in lead] + groups + [_word(n) for n in rest]
    zh: list[str] = []
    en: list[str] = []
    for z, e in items:
        if z not in zh:
            zh.append(z)
            en.append(e)
    if len(zh) > 8:
        zh, en = [*zh[:8], "…"], [*en[:8], "…"]
    return "、".join(zh) or "（无）", ", ".join(en) or "(nothing)"


def _word(name: str) -> tuple[str, str]:
    """How one terminal reads in Chinese and in English."""
    if name in _TERMINALS:
        return _TERMINALS[name]
    if name.replace("_", "").isalpha() and name.isupper():
        word = name.lower()
        return f"关键字 {word}", f"'{word}'"
    return name, name


_QUOTE_NOT_CLOSED = (
    "E101.string_not_closed",
    "在同一行内补上结尾的引号；字符串不能跨行 / close it on the same line: "
    "a string cannot span lines",
)

# Characters the lexer cannot read: (message key, hint) in place of the generic
# E101.character ("… is not part of the language"), where we know better.
_CHARACTER_MESSAGES: dict[str, tuple[str, str]] = {
    '"': _QUOTE_NOT_CLOSED,
    "'": _QUOTE_NOT_CLOSED,
    "“": (
        "E101.chinese_quote_not_closed",
        "在同一行内补上「”」；字符串不能跨行 / close it with ” on the same line",
    ),
    "”": (
        "E101.chinese_quote_not_opened",
        '字符串写成 “终止” 或 "终止" / quote a string as “终止” or "终止"',
    ),
    # Invisible characters, pasted with text copied from the web, Word or WeChat:
    # naming them by their code point would tell a policy writer nothing.
    "\u00a0": (
        "E101.non_breaking_space",
        "常见于从网页、Word 或微信复制的文字：删掉它，重新输入普通空格 / "
        "often pasted from the web or Word: delete it and type a plain space",
    ),
    "\u200b": (
        "E101.zero_width_space",
        "常见于复制粘贴的文字：删掉它 / often pasted with copied text: delete it",
    ),
    "\ufeff": (
        "E101.byte_order_mark",
        "常见于拼接多个文件或复制粘贴：删掉它 / often left by joining files: delete it",
    ),
}

_CHARACTER_HINTS: dict[str, tuple[str, str]] = {
    "、": (
        "顿号「、」不能用在规则中：条件之间写 and 或 or，并列的各项之间用半角逗号「,」",
        "write 'and' or 'or' between conditions and ',' between items",
    ),
    "。": (
        "句号「。」不能出现在规则中，写在引号内的消息里则可以",
        "a full stop belongs inside a string",
    ),
    "？": ("问号「？」只能写在引号内的文字里", "a question mark belongs inside a string"),
    "；": ("规则中不需要分号", "rules need no semicolons"),
    ";": ("规则中不需要分号", "rules need no semicolons"),
    "【": ("请用半角括号「(」「)」", "use ASCII brackets"),
    "】": ("请用半角括号「(」「)」", "use ASCII brackets"),
    "《": ("书名号「《》」只能写在引号内的文字里", "《》 belong inside a string"),
    "》": ("书名号「《》」只能写在引号内的文字里", "《》 belong inside a string"),
    "‘": ('字符串请用双引号「"」括起', "quote strings with '\"'"),
    "’": ('字符串请用双引号「"」括起', "quote strings with '\"'"),
    "「": ('字符串请用双引号「"」括起', "quote strings with '\"'"),
    "」": ('字符串请用双引号「"」括起', "quote strings with '\"'"),
    "≥": ("「≥」请写作 >=", "write '>=' for '≥'"),
    "≤": ("「≤」请写作 <=", "write '<=' for '≤'"),
    "≠": ("「≠」请写作 !=", "write '!=' for '≠'"),
    "×": ("乘号请写作 *", "write '*' for '×'"),
    "÷": ("除号请写作 /", "write '/' for '÷'"),
    "—": ("减号和日期中的横线请用半角「-」", "use the ASCII '-'"),
    "–": ("减号和日期中的横线请用半角「-」", "use the ASCII '-'"),
    "!": ("「不等于」写作 !=，「非」写作 not", "write '!=' for 'not equal' and 'not' for 'not'"),
    "$": (
        "参数写作 $名称，$ 与名称之间不能有空格，例如 $tender_threshold",
        "write a parameter as $name, with no space after '$'",
    ),
    "&": ("逻辑运算写作 and、or", "write 'and' / 'or'"),
    "|": (
        "逻辑运算写作 and、or；连接文字写作 concat(a, b)",
        "write 'and' / 'or'; join texts with concat(a, b)",
    ),
    "%": ("百分比请写成小数，例如 10% 写作 0.10", "write percentages as decimals"),
}
# The full-width twins read the same way (the parser passes the original character).
_CHARACTER_HINTS["！"] = _CHARACTER_HINTS["!"]
_CHARACTER_HINTS["＄"] = _CHARACTER_HINTS["$"]
_CHARACTER_HINTS["＆"] = _CHARACTER_HINTS["&"]
_CHARACTER_HINTS["％"] = _CHARACTER_HINTS["%"]


def hint_for_character(ch: str) -> tuple[str, str, str | None]:
    """Message and hint for a character the lexer cannot read."""
    if ch in _CHARACTER_MESSAGES:
        key, hint = _CHARACTER_MESSAGES[ch]
        _, zh, en = message(key)
        return zh, en, hint
    shown = repr(ch)[1:-1] if not ch.isprintable() else ch
    _, zh, en = message("E101.character", shown=shown)
    if ch in _CHARACTER_HINTS:
        hint_zh, hint_en = _CHARACTER_HINTS[ch]
        return zh, en, f"{hint_zh} / {hint_en}"
    if "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f":
        return zh, en, "这是全角字符，请改用半角（英文）标点 / a full-width character: use ASCII"
    return zh, en, None


# Chinese words for the logical keywords, as people say a condition aloud.
_CHINESE_KEYWORDS = {
    "并且": "and",
    "而且": "and",
    "且": "and",
    "和": "and",
    "与": "and",
    "同时": "and",
    "或": "or",
    "或者": "or",
    "不": "not",
    "非": "not",
    "不是": "not",
}


def hint_for_token(text: str, expected: list[str]) -> str | None:
    """A hint for an unexpected word: a Chinese 并且/或, a keyword in capitals, a misspelt keyword.

    `expected` holds the terminal names the parser would have taken there.
    """
    keywords = {name.lower() for name in expected if name.replace("_", "").isalpha()}
    keywords -= {name.lower() for name in _TERMINALS}
    meant = _CHINESE_KEYWORDS.get(text)
    if meant in keywords:
        return f"「{text}」要写作 {meant} / write '{meant}' for '{text}'"
    word = text.lower()
    if word != text and word in keywords:
        return f"关键字要小写：{word} / keywords are written in lower case: {word}"
    close = difflib.get_close_matches(word, sorted(keywords), n=1, cutoff=0.75)
    if close and close[0] != word:
        return f"是否要写 {close[0]}？ / did you mean {close[0]}?"
    return None
