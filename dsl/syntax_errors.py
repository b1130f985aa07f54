"""Syntax errors in the words of the people who make them.

`FRIENDLY_ERRORS` lists mistakes policy staff really make, each with a small
rule text that fails the same way; the parser matches a real error against
these with Lark's `match_examples` and, on a match, says what was meant.
"""

from __future__ import annotations

# label: (code, message_zh, message_en, hint, an example text that fails this way)
FRIENDLY_ERRORS: dict[str, tuple[str, str, str, str, str]] = {
    "exists_without_brackets": (
        "E110",
        "exists 后的子查询要用括号括起来",
        "the subquery after 'exists' must be in brackets",
        "写成 not exists(trade_tender t where t.project_id = p.project_id)",
        "model M { where not exists trade_tender t where t.a = p.a }",
    ),
    "double_equals": (
        "E111",
        "相等比较只写一个等号「=」",
        "equality is written with a single '='",
        '把 == 改为 =，例如 p.status = "终止"',
        "model M { where p.a == 1 }",
    ),
    "missing_alias_dot": (
        "E112",
        "列名前要写来源别名和点，例如 p.status",
        "a column is written as alias.column, e.g. p.status",
        "在 from 中给来源起别名（from dr_project p），再用 p.列名 引用",
        "model M { where p status = 1 }",
    ),
    "given_missing_comma": (
        "E113",
        "示例数据的各列之间要用逗号分隔",
        "columns of an example row are separated by commas",
        '写成 given dr_project { project_id: "P1", investment: 100 }',
        'model M { example "e" { given s { a: 1 b: 2 } } }',
    ),
    "given_missing_colon": (
        "E114",
        "示例数据的列名和值之间要写冒号",
        "an example row needs ':' between column and value",
        '写成 project_id: "P1"',
        'model M { example "e" { given s { a 1 } } }',
    ),
    "given_slash_date": (
        "E115",
        "日期要写成 YYYY-MM-DD",
        "dates are written as YYYY-MM-DD",
        "把 2021/04/20 写成 2021-04-20（不加引号）",
        'model M { example "e" { given s { a: 2021/04/20 } } }',
    ),
    "as_of_needs_date": (
        "E116",
        "as_of 后要写一个日期",
        "'as_of' in an example takes a date",
        "例如 as_of 2021-11-15",
        'model M { example "e" { as_of "2021-11-15" } }',
    ),
    "model_without_id": (
        "E117",
        "model 后要写模型编号，例如 ENG01",
        "'model' is followed by the model's id, e.g. ENG01",
        'model ENG01 "应招未招" { … }',
        'model "应招未招" { }',
    ),
    "let_without_equals": (
        "E118",
        "let 定义要写等号",
        "'let' needs '=' between the name and the expression",
        "例如 let paid = (from fin_payment f where f.contract_id = c.contract_id "
        "select sum(f.amount))",
        "model M { let x p.a }",
    ),
    "severity_quoted": (
        "E119",
        "severity 取 red、yellow 或 blue，不加引号",
        "severity is red, yellow or blue, without quotes",
        "例如 severity red",
        'model M { severity "red" }',
    ),
}


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
    "COMMA": ("「,」", "','"),
    "COLON": ("「:」", "':'"),
    "DOT": ("「.」", "'.'"),
    "EQUAL": ("「=」", "'='"),
    "PLUS": ("「+」", "'+'"),
    "MINUS": ("「-」", "'-'"),
    "STAR": ("「*」", "'*'"),
    "SLASH": ("「/」", "'/'"),
}


def describe_expected(terminals: list[str]) -> tuple[str, str]:
    """Chinese and English renderings of the tokens the parser would have accepted."""
    zh: list[str] = []
    en: list[str] = []
    for name in terminals:
        if name in _TERMINALS:
            z, e = _TERMINALS[name]
        elif (name.isupper() and name.isalpha()) or name in ("AS_OF", "GROUP", "BY"):
            word = name.lower()
            z, e = f"关键字 {word}", f"'{word}'"
        else:
            z, e = name, name
        if z not in zh:
            zh.append(z)
            en.append(e)
    if len(zh) > 8:
        zh, en = [*zh[:8], "…"], [*en[:8], "…"]
    return "、".join(zh) or "（无）", ", ".join(en) or "(nothing)"


_CHARACTER_HINTS: dict[str, tuple[str, str]] = {
    "、": ("顿号「、」不能分隔各项，请用半角逗号「,」", "use ',' to separate items"),
    "。": (
        "句号「。」不能出现在规则中，写在引号内的消息里则可以",
        "a full stop belongs inside a string",
    ),
    "；": ("规则中不需要分号", "rules need no semicolons"),
    ";": ("规则中不需要分号", "rules need no semicolons"),
    "【": ("请用半角括号「(」「)」", "use ASCII brackets"),
    "】": ("请用半角括号「(」「)」", "use ASCII brackets"),
    "‘": ('字符串请用双引号「"」括起', "quote strings with '\"'"),
    "’": ('字符串请用双引号「"」括起', "quote strings with '\"'"),
    '"': ("字符串缺少结尾的引号（字符串不能跨行）", "the string has no closing quote on its line"),
    "'": ("字符串缺少结尾的引号（字符串不能跨行）", "the string has no closing quote on its line"),
    "&": ("逻辑运算写作 and、or", "write 'and' / 'or'"),
    "|": ("逻辑运算写作 and、or", "write 'and' / 'or'"),
    "%": ("百分比请写成小数，例如 10% 写作 0.10", "write percentages as decimals"),
}


def hint_for_character(ch: str) -> tuple[str, str, str | None]:
    """Message and hint for a character the lexer cannot read."""
    shown = repr(ch)[1:-1] if not ch.isprintable() else ch
    zh = f"无法识别的字符「{shown}」"
    en = f"character '{shown}' is not part of the language"
    if ch in _CHARACTER_HINTS:
        hint_zh, hint_en = _CHARACTER_HINTS[ch]
        return zh, en, f"{hint_zh} / {hint_en}"
    if "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f":
        return zh, en, "这是全角字符，请改用半角（英文）标点 / a full-width character: use ASCII"
    return zh, en, None
