"""Hive-style partition folders (``product_category=Dresses/``): escaping and parsing."""

from __future__ import annotations

from typing import Any

__all__ = [
    "NULL_PARTITION",
    "escape_value",
    "is_hidden",
    "partition_dir",
    "partition_values",
    "unescape_value",
]

#: the folder value Hive (and DuckDB) use for a missing partition value
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_SPECIAL = set("\"#%'*/:=?\\\x7f{[]^")


def escape_value(value: Any) -> str:
    """A partition value as Hive writes it in a folder name (``a/b`` → ``a%2Fb``)."""
    if value is None or (isinstance(value, float) and value != value):
        return NULL_PARTITION
    text = str(value)
    if text == "":
        return NULL_PARTITION
    return "".join(f"%{ord(c):02X}" if c in _SPECIAL or ord(c) < 32 else c for c in text)


def unescape_value(text: str) -> str | None:
    """The value of a partition folder (``a%2Fb`` → ``a/b``; the null folder → ``None``)."""
    if text == NULL_PARTITION:
        return None
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and _is_hex(text[i + 1 : i + 3]):
            out.append(chr(int(text[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def partition_dir(keys: list[str], values: list[Any]) -> str:
    """The relative folder of one partition, e.g. ``year=2024/product_category=Dresses``."""
    return "/".join(f"{k}={escape_value(v)}" for k, v in zip(keys, values, strict=True))


def partition_values(relative_key: str) -> list[tuple[str, str | None]]:
    """The ``(key, value)`` pairs of the Hive folders in a key relative to its dataset.

    Only the leading folders of the form ``k=v`` count; the file name never does.

    Example:
        >>> partition_values("year=2024/product_category=Dresses/part-0.parquet")
        [('year', '2024'), ('product_category', 'Dresses')]
    """
    pairs = []
    for segment in relative_key.split("/")[:-1]:
        key, sep, value = segment.partition("=")
        if not sep or not key:
            break
        pairs.append((key, unescape_value(value)))
    return pairs


def is_hidden(relative_key: str) -> bool:
    """Whether a key (relative to a dataset) is bookkeeping, not data.

    As in Hive and Spark, files and folders whose names start with ``_`` or ``.`` (``_SUCCESS``,
    ``_sagebox_dataset.json``, in-progress temporary files) are not data.
    """
    return any(part.startswith(("_", ".")) for part in relative_key.split("/") if part)
