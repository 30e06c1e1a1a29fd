"""``CREATE TABLE db.name [WITH (...)] AS SELECT ...`` (CTAS), parsed as Athena writes it.

Options in ``WITH (...)``: ``partitioned_by = ARRAY['col', ...]``, ``location =
'lake/key/or/uri'`` (``external_location`` too), ``format = 'PARQUET'`` (the only one) and
``description = '...'``. ``CREATE OR REPLACE TABLE`` overwrites an existing table's data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sagebox.errors import InputDataError

__all__ = ["Ctas", "parse_ctas"]

_HEAD = re.compile(
    r"\s*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?TABLE\s+(?P<ifnot>IF\s+NOT\s+EXISTS\s+)?",
    re.IGNORECASE,
)
_PART = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)'
_NAME = re.compile(rf"(?P<first>{_PART})(?:\s*\.\s*(?P<second>{_PART}))?")
_AS = re.compile(r"\s*AS(?=[\s(])\s*", re.IGNORECASE)
_WITH = re.compile(r"\s*WITH\s*\(", re.IGNORECASE)
_OPTIONS = ("partitioned_by", "location", "external_location", "format", "description")
_HINT = "write CREATE TABLE db.name [WITH (partitioned_by = ARRAY['col'])] AS SELECT ..."


@dataclass
class Ctas:
    """A parsed CTAS statement."""

    database: str | None
    name: str
    query: str
    replace: bool = False
    if_not_exists: bool = False
    partitioned_by: list[str] = field(default_factory=list)
    location: str | None = None
    description: str = ""


def parse_ctas(sql: str) -> Ctas | None:
    """The CTAS in ``sql``, or None if ``sql`` is not a CREATE TABLE statement.

    Raises:
        InputDataError: a CREATE TABLE that is not ``... AS SELECT``, or bad options.
    """
    head = _HEAD.match(sql)
    if head is None:
        return None
    name = _NAME.match(sql, head.end())
    if name is None:
        raise InputDataError("CREATE TABLE needs a table name", hint=_HINT)
    first, second = _unquote(name["first"]), name["second"]
    database, table = (first, _unquote(second)) if second else (None, first)
    pos = name.end()
    options: dict[str, object] = {}
    with_clause = _WITH.match(sql, pos)
    if with_clause:
        end = _closing(sql, with_clause.end() - 1)
        options = _parse_options(sql[with_clause.end() : end])
        pos = end + 1
    as_clause = _AS.match(sql, pos)
    if as_clause is None:
        raise InputDataError(
            "only CREATE TABLE ... AS SELECT is supported",
            hint=_HINT + "; register files as a table with `sagebox crawl` or "
            "`sagebox catalog tables create`",
        )
    query = sql[as_clause.end() :].strip().rstrip(";").strip()
    if not query:
        raise InputDataError("CREATE TABLE ... AS has no query after AS", hint=_HINT)
    fmt = str(options.get("format", "parquet")).lower()
    if fmt != "parquet":
        raise InputDataError(f"CTAS writes Parquet, not {fmt!r}", hint="drop the format option")
    partitioned = options.get("partitioned_by", [])
    return Ctas(
        database=database,
        name=table,
        query=query,
        replace=bool(head["replace"]),
        if_not_exists=bool(head["ifnot"]),
        partitioned_by=_names(partitioned),
        location=_str_or_none(options.get("location") or options.get("external_location")),
        description=str(options.get("description", "")),
    )


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise InputDataError(f"partitioned_by must list column names, got {value!r}", hint=_HINT)


def _unquote(part: str) -> str:
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _closing(sql: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start`` (quotes respected)."""
    depth, i, quote = 0, start, ""
    while i < len(sql):
        c = sql[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InputDataError("unbalanced parentheses in CREATE TABLE ... WITH (...)", hint=_HINT)


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for c in text:
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(c)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _parse_options(text: str) -> dict[str, object]:
    options: dict[str, object] = {}
    for item in _split_top(text):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in _OPTIONS:
            raise InputDataError(
                f"unknown CTAS option {item!r}", hint=f"options: {', '.join(_OPTIONS)}"
            )
        options[key] = _value(value.strip())
    return options


def _value(text: str) -> object:
    body = re.sub(r"^ARRAY\s*", "", text, flags=re.IGNORECASE)
    if body[:1] in "[(" and body[-1:] in "])":
        return [_value(v) for v in _split_top(body[1:-1])]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text
