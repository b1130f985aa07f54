"""The one redaction: warehouse passwords out of every text that is shown or stored.

Two things are taken out. A URL's own password (`postgresql://user:secret@host/db`
shows as `postgresql://user:***@host/db`), found by where it stands in the URL,
percent-encoded or not. And every password this process has connected with
(`mask`): a driver may echo its connection string in an error, and what it echoes
is no URL any more, so each such password is also looked for by its text — raw,
percent-encoded as a URL carries it, and escaped as JSON and HTML write it.

Every place that prints or stores a warehouse URL or a driver's error text goes
through here: WarehouseError (adapters/base.py) scrubs its own message, the run's
manifest and its events (engine/runs/manifest.py, logs.py) scrub what they write,
and the command line scrubs an internal error's text. This module imports nothing
of the adapters, so that adapters/base.py can use it.
"""

from __future__ import annotations

import html
import json
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_MASKED = 4
"""A password shorter than this is not looked for in free text: masking `ab` would
cut every word holding those letters. It is still taken out of any URL, by place.
(A longer one that is also a word, such as `postgres`, is masked wherever the word
stands: better a log with `***` in it than one with the password.)"""

_masked: set[str] = set()
_lock = threading.Lock()

# scheme://USER:PASSWORD@HOST…: the user stops at the first ':' (a user name carries no
# raw ':'); the password runs to the LAST '@' of the URL, since a password written
# without percent-encoding may hold '@', '/', '#' or '?' itself. A URL whose query
# holds an '@' is then shown cut short — never with its password.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://(?P<user>[^:/?#@\s]*)):(?P<pw>.*)@")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<pw>[^&#\s]*)", re.IGNORECASE)


def password_in(url: str) -> str | None:
    """The password a URL gives its driver, as written; None when it gives none.

    Read as libpq reads a URL: from the userinfo of the authority, which ends at
    the first `/`, `?` or `#` (`user:PASSWORD@host`), or from a `?password=` query
    parameter. Whether a URL has a password is decided by this; what is hidden
    (`redact`, `mask_url`) reaches further.
    """
    _, sep, rest = url.partition("://")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0] if sep else ""
    userinfo, at, _ = authority.rpartition("@")
    if at and ":" in userinfo:
        return userinfo.partition(":")[2]
    query = _QUERY_PASSWORD.search(url)
    return query.group("pw") if query else None


def _written_password(url: str) -> str | None:
    """Whatever stands where a password may stand, up to the URL's last `@` (see _USERINFO)."""
    found = _USERINFO.match(url)
    return found.group("pw") if found and "\n" not in found.group("pw") else None


def redact(url: str) -> str:
    """A warehouse URL without its password: `postgresql://user:***@host/db`."""
    found = _USERINFO.match(url)
    if found and "\n" not in found.group("pw"):
        url = f"{found.group('head')}:{MASK}@{url[found.end() :]}"
    return _QUERY_PASSWORD.sub(lambda m: m.group("head") + MASK, url)


def _forms(secret: str) -> set[str]:
    """The ways a password may be written in a text: raw, percent-encoded, escaped."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(json.dumps(secret)[1:-1])
    forms.add(html.escape(secret))
    decoded = unquote(secret)
    if decoded != secret:  # a password as a URL carried it: its decoded forms too
        forms |= _forms(decoded)
    return {form for form in forms if len(form) >= MIN_MASKED}


def mask(secret: str | None) -> None:
    """Remember a password, so that `scrub` takes it out of any text from now on."""
    if not secret:
        return
    forms = _forms(secret)
    with _lock:
        _masked.update(forms)


def mask_url(url: str) -> None:
    """Remember the password written in a URL, when it has one, however it is read."""
    mask(password_in(url))
    mask(_written_password(url))


def scrub(text: str) -> str:
    """`text` with every URL's password and every remembered password replaced by ***."""
    with _lock:
        forms = sorted(_masked, key=len, reverse=True)  # the longest form first
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return _scrub_urls(text)


def _scrub_urls(text: str) -> str:
    """Each URL in a free text with its password taken out (a URL ends at white space)."""
    if "://" not in text and "password=" not in text.lower():
        return text
    return re.sub(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+|[?&]password=\S+", lambda m: redact(m[0]), text)


def scrub_value(value: Any) -> Any:
    """A JSON-able value (dicts, lists, strings) with `scrub` applied to every string in it."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: scrub_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(item) for item in value]
    return value
