"""Reading CSV/TSV, JSON lines and Parquet from the lake (file and S3)."""

from __future__ import annotations

import gzip
import warnings

import pandas as pd
import pytest

from sagebox import lake
from sagebox.errors import InputDataError
from sagebox.session import Session

FRAME = pd.DataFrame({"id": [1, 2, 3], "category": ["a", "b", "a"], "text": ["x", "y", "z"]})


def _put(session: Session, key: str, data: bytes) -> None:
    session.storage.write_bytes(key, data)


def test_csv_one_key_prefix_glob_and_gzip_tsv(lake_session: Session) -> None:
    s = lake_session
    _put(s, "raw/a/part-1.csv", b"id,text\n1,x\n2,y\n")
    _put(s, "raw/a/part-2.csv.gz", gzip.compress(b"id,text\n3,z\n"))
    _put(s, "raw/a/part-3.tsv", b"id\ttext\n4\tw\n")
    _put(s, "raw/a/README.md", b"# not data")
    _put(s, "raw/a/_SUCCESS", b"")
    one = lake.read_csv("raw/a/part-1.csv", session=s)
    assert one["id"].tolist() == [1, 2]
    everything = lake.read_csv("raw/a/", session=s)
    assert sorted(everything["id"]) == [1, 2, 3, 4]
    assert everything.attrs["files"] == 3
    globbed = lake.read_csv("raw/a/*.csv*", session=s)
    assert sorted(globbed["id"]) == [1, 2, 3]
    uri = s.storage.url("raw/a/part-2.csv.gz")
    assert lake.read_csv(uri, session=s)["text"].tolist() == ["z"]


def test_chunks_cover_all_rows_across_files(lake_session: Session) -> None:
    s = lake_session
    lake.to_csv(pd.DataFrame({"n": range(7)}), "raw/c/a.csv", session=s)
    lake.to_csv(pd.DataFrame({"n": range(7, 12)}), "raw/c/b.csv.gz", session=s)
    chunks = list(lake.read_csv("raw/c/", chunksize=3, session=s))
    assert [len(c) for c in chunks] == [3, 3, 1, 3, 2]
    assert pd.concat(chunks)["n"].tolist() == list(range(12))


def test_hive_folders_become_columns(lake_session: Session) -> None:
    s = lake_session
    _put(s, "raw/p/year=2024/cat=Fine%20gauge/a.csv", b"id\n1\n")
    _put(s, "raw/p/year=2025/cat=a%2Fb/b.csv", b"id\n2\n")
    df = lake.read_csv("raw/p/", session=s).sort_values("id")
    assert df["year"].tolist() == [2024, 2025]
    assert df["cat"].tolist() == ["Fine gauge", "a/b"]


def test_malformed_csv_fails_naming_file_and_physical_line(lake_session: Session) -> None:
    s = lake_session
    # The quoted field spans lines 3-4, so the bad record starts on line 5, not pandas' "4".
    _put(s, "raw/bad/x.csv", b'a,b\n1,2\n3,"multi\nline"\n4,5,6\n7,8\n')
    with pytest.raises(InputDataError, match=r"x\.csv: malformed CSV: line 5 has 3 fields") as e:
        lake.read_csv("raw/bad/x.csv", session=s)
    assert "on_bad_lines='skip'" in (e.value.hint or "")


def test_malformed_csv_rows_skipped_with_count_and_lines(lake_session: Session) -> None:
    s = lake_session
    _put(s, "raw/bad/x.csv", b'a,b\n1,2\n3,"multi\nline"\n4,5,6\n7,8\n9,10,11,12\n')
    with pytest.warns(lake.LakeWarning, match="skipped 2 malformed row"):
        df = lake.read_csv("raw/bad/", on_bad_lines="skip", session=s)
    assert df["a"].tolist() == [1, 3, 7]
    assert [line.rsplit(" line ", 1)[1] for line in df.attrs["skipped_lines"]] == [
        "5: expected 2 fields, saw 3",
        "7: expected 2 fields, saw 4",
    ]


def test_first_data_row_too_wide_is_malformed_not_an_index(lake_session: Session) -> None:
    s = lake_session
    _put(s, "raw/w/x.csv", b"a,b\n1,2,3\n4,5\n")
    with pytest.raises(InputDataError, match="line 2 has 3 fields, expected 2"):
        lake.read_csv("raw/w/x.csv", session=s)
    with pytest.warns(lake.LakeWarning, match="skipped 1"):
        df = lake.read_csv("raw/w/x.csv", on_bad_lines="skip", session=s)
    assert df.to_dict("list") == {"a": [4], "b": [5]}


def test_unclosed_quote_names_its_line(lake_session: Session) -> None:
    _put(lake_session, "raw/q.csv", b'a,b\n1,2\n3,"never closed\n4,5\n')
    with pytest.raises(InputDataError, match="line 3 opens a quoted field"):
        lake.read_csv("raw/q.csv", session=lake_session)


def test_mixed_types_across_files_are_widened_and_reported(lake_session: Session) -> None:
    s = lake_session
    _put(s, "raw/m/a.csv", b"age,score\n31,1\n")
    _put(s, "raw/m/b.csv", b"age,score\nold,2.5\n")
    with pytest.warns(lake.LakeWarning, match="widened mixed column types: age"):
        df = lake.read_csv("raw/m/", session=s)
    assert df["age"].tolist() == ["31", "old"]
    assert df["score"].tolist() == [1.0, 2.5]
    assert df.attrs["widened"] == {"age": "int + str -> str", "score": "float + int -> float64"}


def test_json_lines_with_gzip_and_bad_lines(lake_session: Session) -> None:
    s = lake_session
    _put(s, "raw/j/a.jsonl", b'{"id": 1, "t": "x"}\n\n{"id": 2}\n')
    _put(s, "raw/j/b.json.gz", gzip.compress(b'{"id": 3, "t": "z"}\nnot json\n[1, 2]\n'))
    with pytest.raises(InputDataError, match=r"b\.json\.gz: malformed JSON line 2"):
        lake.read_json("raw/j/", session=s)
    with pytest.warns(lake.LakeWarning, match="skipped 2"):
        df = lake.read_json("raw/j/", on_bad_lines="skip", session=s)
    assert df["id"].tolist() == [1, 2, 3]
    assert [len(c) for c in lake.read_json("raw/j/a.jsonl", chunksize=1, session=s)] == [1, 1]


def test_parquet_dataset_and_chunks(lake_session: Session) -> None:
    s = lake_session
    lake.to_parquet(FRAME, "cur/t/", partition_cols=["category"], session=s)
    df = lake.read_parquet("cur/t/", session=s).sort_values("id")
    assert df["category"].tolist() == ["a", "b", "a"]
    chunks = list(lake.read_parquet("cur/t/", chunksize=1, session=s))
    assert sum(len(c) for c in chunks) == 3
    assert list(lake.read_parquet("cur/t/", columns=["id"], session=s).columns) == [
        "id",
        "category",
    ]


def test_corrupt_parquet_names_the_file(lake_session: Session) -> None:
    _put(lake_session, "cur/bad/part-0.parquet", b"this is not parquet")
    with pytest.raises(InputDataError, match=r"part-0\.parquet: not a valid Parquet file"):
        lake.read_parquet("cur/bad/", session=lake_session)


def test_empty_prefix_and_wrong_formats(lake_session: Session) -> None:
    s = lake_session
    with pytest.raises(InputDataError, match="nothing stored at") as info:
        lake.read_csv("raw/nothing-here/", session=s)
    assert "sagebox lake ls" in (info.value.hint or "")
    _put(s, "raw/docs/readme.md", b"# hi")
    with pytest.raises(InputDataError, match=r"no csv files at .*readme\.md"):
        lake.read_csv("raw/docs/", session=s)


def test_bad_arguments(sagebox_env: object) -> None:
    s = Session()
    s.storage.write_bytes("raw/x.csv", b"a\n1\n")
    with pytest.raises(InputDataError, match="unknown on_bad_lines policy 'ignore'"):
        lake.read_csv("raw/x.csv", on_bad_lines="ignore", session=s)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="chunksize must be at least 1"):
        list(lake.read_csv("raw/x.csv", chunksize=0, session=s))


def test_non_utf8_csv(sagebox_env: object) -> None:
    """Latin-1 and UTF-16 (with its BOM) are read; other encodings are refused, named."""
    s = Session()
    s.storage.write_bytes("raw/latin.csv", "a\nTr\xe8s\n".encode("latin-1"))
    assert lake.read_csv("raw/latin.csv", session=s)["a"].tolist() == ["Très"]
    s.storage.write_bytes("raw/utf16.jsonl", '{"a": "Très"}\n'.encode("utf-16"))
    assert lake.read_json("raw/utf16.jsonl", session=s)["a"].tolist() == ["Très"]
    s.storage.write_bytes("raw/ru.csv", "a\nПривет мир как дела\n".encode("cp1251"))
    with pytest.raises(InputDataError, match="not valid UTF-8 \\(looks like cp1251\\)"):
        lake.read_csv("raw/ru.csv", session=s)


def test_no_warning_for_clean_reads(sagebox_env: object) -> None:
    s = Session()
    s.storage.write_bytes("raw/ok.csv", b"a\n1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lake.read_csv("raw/ok.csv", session=s)["a"].tolist() == [1]
