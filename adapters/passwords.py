"""Where a warehouse's password is kept, and putting it into the URL only to connect.

A deployment file goes into git, so it names where the password is
(`password_env: NAME`, `password_file: PATH`) rather than the password. The URL
the engine passes around, prints and stores (`WarehouseURL`) carries that place,
never the password: `adapters.connect` reads the password and writes it into the
URL it hands the driver, and nowhere else. With neither, libpq's own PGPASSWORD and
.pgpass (PGPASSFILE) still apply, the URL having no password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from adapters.base import WarehouseUnreachable
from adapters.redaction import mask, mask_url, password_in

PASSWORD_SCHEMES = ("postgresql", "postgres", "adbc")
"""URL schemes (before any `+`) of the warehouses that take a password: the servers."""


def takes_password(url: str) -> bool:
    """Whether the warehouse a URL names logs in with a password (not a file: DuckDB, SQLite)."""
    return urlsplit(url).scheme.split("+", 1)[0] in PASSWORD_SCHEMES


class PasswordUnavailable(WarehouseUnreachable):
    """The password's environment variable or file gave no password.

    `reason` says which (env_unset, env_empty, file_missing, file_unreadable,
    file_empty): the deployment file's check words it as E626, with its line.
    """

    def __init__(self, reason: str, where: str, detail: str = "") -> None:
        self.reason = reason
        self.where = where
        self.detail = detail
        words = {
            "env_unset": ("环境变量 {w} 没有设置", "the environment variable {w} is not set"),
            "env_empty": ("环境变量 {w} 为空", "the environment variable {w} is empty"),
            "file_missing": ("找不到密码文件 {w}", "no password file at {w}"),
            "file_unreadable": ("无法读取密码文件 {w}", "cannot read the password file {w}"),
            "file_empty": ("密码文件 {w} 为空", "the password file {w} is empty"),
        }
        zh, en = words[reason]
        super().__init__(
            "取不到数据仓库的密码：" + zh.format(w=where),
            "no warehouse password: " + en.format(w=where) + (f" ({detail})" if detail else ""),
        )


@dataclass(frozen=True)
class PasswordSource:
    """Where the password is: an environment variable or a file — never the password itself.

    So a Deployment that holds one can be printed, logged and compared freely.
    """

    env: str | None = None
    file: Path | None = None

    def read(self) -> str:
        """The password, read now (a file's trailing newline dropped), or PasswordUnavailable.

        What is read is remembered by adapters.redaction, so that no error or log
        line that follows can show it.
        """
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise PasswordUnavailable("env_unset", self.env)
            if not value:
                raise PasswordUnavailable("env_empty", self.env)
        else:
            assert self.file is not None
            try:
                value = self.file.read_text(encoding="utf-8").rstrip("\r\n")
            except FileNotFoundError:
                raise PasswordUnavailable("file_missing", str(self.file)) from None
            except (OSError, UnicodeDecodeError) as exc:
                detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8"
                raise PasswordUnavailable("file_unreadable", str(self.file), detail) from None
            if not value:
                raise PasswordUnavailable("file_empty", str(self.file))
        mask(value)
        return value


class WarehouseURL(str):
    """A warehouse URL as written, with where its password is kept (`password`), not the password.

    It is a str so that everything that takes a URL — printing, the manifest,
    `redact`, the pre-check service's pool — takes it unchanged; only
    `adapters.connect` looks at `password`.
    """

    password: PasswordSource | None

    def __new__(cls, url: str, password: PasswordSource | None = None) -> WarehouseURL:
        made = super().__new__(cls, url)
        made.password = password
        return made


def with_password(url: str, password: str) -> str:
    """`url` with `password` written in, percent-encoded so that `@ : / # ? % space` survive.

    The user name stays as written (none: the driver's default, as libpq's is the
    login's name).
    """
    scheme, _, rest = url.partition("://")
    at = rest.find("@")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    user = rest[:at] if 0 <= at < cut else ""
    host = rest[at + 1 :] if 0 <= at < cut else rest
    return f"{scheme}://{user}:{quote(password, safe='')}@{host}"


def address(url: str) -> str:
    """The URL to hand the driver: with the password read from where `url` says it is.

    A URL with a password of its own, or for a warehouse that takes none, is
    handed on as it is (its own password remembered for redaction); so is one
    that names no place, leaving libpq its PGPASSWORD and .pgpass.
    """
    source = getattr(url, "password", None)
    written = str(url)
    mask_url(written)
    if source is None or not takes_password(written) or password_in(written) is not None:
        return written  # PGPASSWORD is libpq's alone: never in a URL, never in its errors
    return with_password(written, source.read())
