"""The data lake (the S3 equivalent): read and write datasets, and manage objects.

Locations are lake keys (``raw/reviews/``), local paths or URIs (``s3://bucket/prefix``,
``file:///path``), and may name one object, a prefix or a glob.

Multi-file writes commit all at once: :func:`visible` filters a raw object listing down to the
files readers see (it drops the files of writes in progress and of replaced data).

Example:
    >>> from sagebox import lake
    >>> lake.put("reviews.csv", "raw/reviews/")  # doctest: +SKIP
    >>> df = lake.read_csv("raw/reviews/")  # doctest: +SKIP
    >>> lake.to_parquet(df, "curated/reviews/", partition_cols=["Class Name"],
    ...                 mode="overwrite")  # doctest: +SKIP
"""

from __future__ import annotations

from sagebox.lake._csv import BadLine
from sagebox.lake._encoding import SAMPLE_BYTES as ENCODING_SAMPLE_BYTES
from sagebox.lake._encoding import detect_encoding
from sagebox.lake._formats import FileFormat, format_of, sniff_format
from sagebox.lake._location import Location, locate
from sagebox.lake._ops import Entry, Transfer, cat, du, get, ls, put, rm
from sagebox.lake._read import LakeFile, LakeWarning, list_files, read_csv, read_json, read_parquet
from sagebox.lake._state import visible
from sagebox.lake._vacuum import VacuumResult, vacuum
from sagebox.lake._write import WriteMode, WriteResult, to_csv, to_json, to_parquet

__all__ = [
    "ENCODING_SAMPLE_BYTES",
    "BadLine",
    "Entry",
    "FileFormat",
    "LakeFile",
    "LakeWarning",
    "Location",
    "Transfer",
    "VacuumResult",
    "WriteMode",
    "WriteResult",
    "cat",
    "detect_encoding",
    "du",
    "format_of",
    "get",
    "list_files",
    "locate",
    "ls",
    "put",
    "read_csv",
    "read_json",
    "read_parquet",
    "rm",
    "sniff_format",
    "to_csv",
    "to_json",
    "to_parquet",
    "vacuum",
    "visible",
]
