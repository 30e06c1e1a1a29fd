"""read_raw_reviews: the happy path and one test per bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.datasets import RAW_COLUMNS, generate_reviews, read_raw_reviews
from sagebox.errors import InputDataError

HEADER = ",".join(f'"{c}"' if " " in c else c for c in RAW_COLUMNS)


def _row(review_id: int, rating: object = 5, text: str = "Lovely dress") -> str:
    return f"{review_id},1,30,Nice,{text},{rating},1,0,General,Dresses,Dresses"


def _write(tmp_path: Path, body: str | bytes, name: str = "reviews.csv") -> Path:
    path = tmp_path / name
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8")
    return path


def _error(path: Path) -> InputDataError:
    with pytest.raises(InputDataError) as info:
        read_raw_reviews(path)
    err = info.value
    assert str(path) in err.message and "\n" not in err.message
    assert err.hint
    return err


def test_reads_a_synthetic_csv_round_trip(tmp_path: Path) -> None:
    df = generate_reviews(200, seed=2)
    path = tmp_path / "reviews.csv"
    df.to_csv(path, index=False)
    back = read_raw_reviews(path)
    assert list(back.columns) == list(RAW_COLUMNS)
    assert back["Rating"].dtype == "int64"
    assert back["Review Text"].isna().sum() == df["Review Text"].isna().sum()
    assert back["review_id"].tolist() == df["review_id"].tolist()


def test_reads_parquet(tmp_path: Path) -> None:
    path = tmp_path / "reviews.parquet"
    generate_reviews(50).to_parquet(path, index=False)
    assert len(read_raw_reviews(str(path))) == 50


def test_review_id_is_optional(tmp_path: Path) -> None:
    path = _write(tmp_path, "Review Text,Rating,Class Name\ngreat,5,Knits\nbad,1.0,Knits\n")
    df = read_raw_reviews(path)
    assert df.columns[0] == "review_id"
    assert df["review_id"].tolist() == [0, 1]
    assert df["Rating"].tolist() == [5, 1]


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in _error(tmp_path / "nope.csv").message


def test_directory(tmp_path: Path) -> None:
    assert "directory" in _error(tmp_path).message


def test_empty_file(tmp_path: Path) -> None:
    assert "empty" in _error(_write(tmp_path, "")).message
    assert "empty" in _error(_write(tmp_path, "\n  \n")).message


def test_header_only(tmp_path: Path) -> None:
    assert "no data rows" in _error(_write(tmp_path, HEADER + "\n")).message


def test_not_utf8(tmp_path: Path) -> None:
    body = (HEADER + "\n" + _row(1) + "\n" + _row(2, text="caf\xe9") + "\n").encode("latin-1")
    err = _error(_write(tmp_path, body))
    assert "UTF-8" in err.message and "line 3" in err.message and "0xe9" in err.message
    assert "UTF-8" in (err.hint or "")


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    body = ("\ufeff" + HEADER + "\n" + _row(1) + "\n").encode("utf-8")
    assert read_raw_reviews(_write(tmp_path, body)).columns[0] == "review_id"


def test_missing_columns(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "review_id,Review Text\n1,nice\n"))
    assert "'Rating'" in err.message and "'Class Name'" in err.message
    assert "found 'review_id', 'Review Text'" in err.message


@pytest.mark.parametrize("bad", ["0", "7", "abc", "4.5", ""])
def test_rating_not_an_integer_in_1_to_5(tmp_path: Path, bad: str) -> None:
    lines = [HEADER, _row(1), _row(2), _row(3, rating=bad), _row(4, rating=bad)]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"))
    assert "2 row(s)" in err.message and "line 4" in err.message
    shown = "empty" if bad == "" else bad
    assert shown in err.message


def test_rating_line_counts_quoted_newlines(tmp_path: Path) -> None:
    lines = [HEADER, _row(1, text='"two\nlines"'), _row(2, rating=9)]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"))
    assert "row 2, line 4" in err.message and "9" in err.message


def test_malformed_quoting(tmp_path: Path) -> None:
    lines = [HEADER, _row(1), _row(2, text='"never closed'), _row(3)]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"))
    assert "malformed CSV" in err.message and "line 3" in err.message
    assert "never closed" in err.message


def test_too_many_fields(tmp_path: Path) -> None:
    lines = [HEADER, _row(1), _row(2) + ",extra", _row(3)]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"))
    assert "line 3 has 12 fields, expected 11" in err.message


def test_corrupt_parquet(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, b"not parquet at all", name="reviews.parquet"))
    assert "Parquet" in err.message


def test_extra_field_in_first_row_is_not_silently_shifted(tmp_path: Path) -> None:
    lines = [HEADER, "", _row(1) + ",extra", _row(2)]
    err = _error(_write(tmp_path, "\n".join(lines) + "\n"))
    assert "line 3 has 12 fields, expected 11" in err.message
