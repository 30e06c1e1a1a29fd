"""Parsing CREATE TABLE ... AS SELECT (Athena's CTAS syntax)."""

from __future__ import annotations

import pytest

from sagebox.errors import InputDataError
from sagebox.sql._ctas import parse_ctas


def test_plain_select_is_not_ctas() -> None:
    assert parse_ctas("SELECT * FROM reviews.raw") is None
    assert parse_ctas("WITH x AS (SELECT 1) SELECT * FROM x") is None


def test_full_form() -> None:
    ctas = parse_ctas(
        'create or replace table Reviews."My Table"\n'
        "WITH (partitioned_by = ARRAY['product_category', 'sentiment'],\n"
        "      location = 's3://lake/balanced/', format = 'PARQUET', description = 'it''s')\n"
        "AS (SELECT * FROM reviews.raw WHERE a = '(x)');"
    )
    assert ctas is not None
    assert (ctas.database, ctas.name, ctas.replace, ctas.if_not_exists) == (
        "Reviews",
        "My Table",
        True,
        False,
    )
    assert ctas.partitioned_by == ["product_category", "sentiment"]
    assert (ctas.location, ctas.description) == ("s3://lake/balanced/", "it's")
    assert ctas.query == "(SELECT * FROM reviews.raw WHERE a = '(x)')"


def test_short_form_and_if_not_exists() -> None:
    ctas = parse_ctas("CREATE TABLE IF NOT EXISTS t AS WITH x AS (SELECT 1) SELECT * FROM x")
    assert ctas is not None
    assert (ctas.database, ctas.name, ctas.if_not_exists) == (None, "t", True)
    assert ctas.query.startswith("WITH x AS")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE t (a INT)", "only CREATE TABLE ... AS SELECT"),
        ("CREATE TABLE t AS ", "no query after AS"),
        ("CREATE TABLE t WITH (bucket_count = 4) AS SELECT 1", "unknown CTAS option"),
        ("CREATE TABLE t WITH (format = 'ORC') AS SELECT 1", "CTAS writes Parquet"),
        ("CREATE TABLE t WITH (location = 'x' AS SELECT 1", "unbalanced parentheses"),
        ("CREATE TABLE AS SELECT 1", "only CREATE TABLE ... AS SELECT"),
    ],
)
def test_bad_ctas(sql: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_ctas(sql)
