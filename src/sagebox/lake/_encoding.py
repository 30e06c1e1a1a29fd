"""The text encoding of a data file, told from its first bytes where data enters the platform.

The readers of the lake (pandas), the crawler and the SQL engine (DuckDB) read UTF-8, UTF-16
(with its byte-order mark) and Latin-1; anything else is refused with a one-line error that
names the encoding the bytes look like and the ``iconv`` call that converts them.
"""

from __future__ import annotations

import codecs

from sagebox.errors import InputDataError

__all__ = ["SAMPLE_BYTES", "detect_encoding", "not_text_error"]

#: bytes of a file's start that decide its encoding
SAMPLE_BYTES = 1 << 16
_BOMS = ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def detect_encoding(head: bytes, uri: str) -> str:
    """``"utf-8"``, ``"utf-16"`` or ``"latin-1"``: the encoding of a file that starts with ``head``.

    UTF-8 (with or without a byte-order mark) is checked strictly, a character cut at the end
    of the sample excepted; UTF-16 needs its byte-order mark; Latin-1 is accepted where
    charset-normalizer finds the bytes read as Western European text without the Windows-1252
    extras (``€``, curly quotes), which Latin-1 readers would garble.

    Args:
        head: the file's first bytes (decompressed), e.g. :data:`SAMPLE_BYTES` of them.
        uri: the file, for messages.

    Raises:
        InputDataError: binary data, BOM-less UTF-16, or text in another encoding.

    Example:
        >>> detect_encoding("id,name\\n1,Très\\n".encode("latin-1"), "x.csv")
        'latin-1'
    """
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # a character cut by the sample's end
    if b"\x00" in head:
        raise not_text_error(uri, _nul_kind(head))
    guess = _western(head)
    if guess == "latin-1":
        return "latin-1"
    raise not_text_error(uri, guess or _best_guess(head))


def not_text_error(uri: str, encoding: str | None) -> InputDataError:
    """The one-line error for a file that is not text in an encoding the platform reads."""
    if encoding is None:
        return InputDataError(
            f"{uri}: binary data, not UTF-8 text",
            hint="give a CSV, TSV or JSON lines file as UTF-8 text (or a Parquet file)",
        )
    return InputDataError(
        f"{uri}: not valid UTF-8 (looks like {encoding})",
        hint=f"re-save the file as UTF-8, e.g. `iconv -f {encoding} -t utf-8 FILE > FILE.utf8`",
    )


def _nul_kind(head: bytes) -> str | None:
    """``utf-16le``/``utf-16be`` for BOM-less UTF-16 text (NULs at every other byte), else None."""
    sample = head[: len(head) - len(head) % 2][:4096]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.7 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16le"
    if even.count(0) > 0.7 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16be"
    return None


def _western(head: bytes) -> str | None:
    """``latin-1`` or ``cp1252`` if the bytes read as Western European text, else None."""
    from charset_normalizer import from_bytes

    if from_bytes(head, cp_isolation=["cp1252", "latin_1"]).best() is None:
        return None
    return "cp1252" if any(0x80 <= b <= 0x9F for b in head) else "latin-1"


def _best_guess(head: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best.encoding.replace("_", "-") if best is not None else None
