"""The text of a PDF that headless Chromium printed, read in pure Python (no poppler here).

Chromium (Skia) writes each run of text as hex strings shown with `Tj`/`TJ` in
a font that carries a ToUnicode CMap, in Flate-compressed streams. This reads
every stream, follows the `/Fn size Tf` font switches and maps the codes back
through the fonts' CMaps; a text object's end (`ET`) is a line break. It is
enough for what Chromium writes, not a general PDF reader.

Chromium's CMaps send some CJK glyphs to the Kangxi radicals that share them
(⽔ U+2F54 for 水, ⼭ for 山), as pdftotext would show too; NFKC folds them back.
"""

from __future__ import annotations

import re
import unicodedata
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\b")
_BODY_END = re.compile(rb"\bstream\r?\n|\bendobj\b")
_FONT_DICT = re.compile(rb"/Font\s*<<(.*?)>>", re.S)
_FONT_REF = re.compile(rb"/([^\s/]+)\s+(\d+) 0 R")
_HEX_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_HEX_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_TOKEN = re.compile(rb"/([^\s/\[\]<>()]+)\s+[-\d.]+\s+Tf|<([0-9A-Fa-f\s]*)>|\bET\b")


def _utf16(hex_text: str) -> str:
    return bytes.fromhex(hex_text).decode("utf-16-be")


def _cmap(text: bytes) -> tuple[int, dict[int, str]]:
    """A ToUnicode CMap: the width of its codes in bytes, and code → text."""
    space = re.search(rb"begincodespacerange\s*<([0-9A-Fa-f]+)>", text)
    width = len(space.group(1)) // 2 if space else 1
    table: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for source, target in _HEX_PAIR.findall(block):
            table[int(source, 16)] = _utf16(target.decode())
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, target in _HEX_RANGE.findall(block):
            first = int(target, 16)
            for i, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                table[code] = _utf16(f"{first + i:0{len(target)}x}")
    return width, table


def pdf_text(blob: bytes) -> str:
    """All the text drawn in the PDF, NFKC-normalised, one line per text object."""
    return "".join(pdf_pages(blob))


def pdf_pages(blob: bytes) -> list[str]:
    """The text of each content stream that draws text, in the file's order.

    Chromium writes one content stream per page, pages in order, so this is the
    text of each page that has any (as pdf_text, NFKC-normalised).
    """
    view = memoryview(blob)
    heads: dict[int, bytes] = {}
    streams: dict[int, int] = {}
    for found in _OBJECT.finditer(blob):
        number = int(found.group(1))
        end = _BODY_END.search(blob, found.end())
        if end is None:
            continue
        heads[number] = blob[found.end() : end.start()]
        if end.group().startswith(b"stream"):
            streams[number] = end.end()

    def stream(number: int) -> bytes:
        if number not in streams or b"/FlateDecode" not in heads[number]:
            return b""
        return zlib.decompressobj().decompress(view[streams[number] :])

    fonts: dict[bytes, tuple[int, dict[int, str]]] = {}
    for head in heads.values():
        for names in _FONT_DICT.findall(head):
            for name, ref in _FONT_REF.findall(names):
                to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", heads.get(int(ref), b""))
                if to_unicode and name not in fonts:
                    fonts[name] = _cmap(stream(int(to_unicode.group(1))))
    pages: list[str] = []
    for number in streams:
        data = stream(number)
        if b"Tf" not in data:
            continue
        out: list[str] = []
        font = None
        for token in _TOKEN.finditer(data):
            if token.group(1) is not None:
                font = fonts.get(token.group(1))
            elif token.group(2) is not None:
                if font is None:
                    continue
                width, table = font
                raw = bytes.fromhex(re.sub(rb"\s", b"", token.group(2)).decode())
                codes = [raw[i : i + width] for i in range(0, len(raw), width)]
                out.append("".join(table.get(int.from_bytes(c, "big"), "") for c in codes))
            else:
                out.append("\n")
        pages.append(unicodedata.normalize("NFKC", "".join(out)))
    return pages
