"""Bad input is refused as a whole, naming feature, row and value (issue 7's list)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sagebox.errors import InputDataError
from sagebox.features import FeatureGroup, load_feature_definitions
from sagebox.features.definitions import FeatureDefinition, FeatureType
from sagebox.features.records import event_time_ns, validate_frame
from tests.features.conftest import reviews_frame

DEFS = load_feature_definitions(reviews_frame())


def _check(df: pd.DataFrame) -> None:
    validate_frame(df, DEFS, "review_id", "date")


def test_valid_records_convert_to_arrow_and_keys() -> None:
    batch = validate_frame(reviews_frame(3), DEFS, "review_id", "date")
    assert batch.keys == ["1", "2", "3"]
    assert batch.table.column("input_ids").to_pylist()[0] == [101, 0, 102]
    assert int(batch.event_ns[0]) == pd.Timestamp("2026-11-27T10:00:00Z").value


def test_missing_record_identifier_column_and_values() -> None:
    with pytest.raises(InputDataError, match="lack the record identifier feature 'review_id'"):
        _check(reviews_frame().drop(columns="review_id"))
    df = reviews_frame().astype({"review_id": "float"})
    df.loc[2, "review_id"] = np.nan
    with pytest.raises(InputDataError, match=r"1 record\(s\) lack the record identifier.*row 2"):
        _check(df)


def test_missing_event_time() -> None:
    with pytest.raises(InputDataError, match="lack the event time feature 'date'"):
        _check(reviews_frame().drop(columns="date"))
    df = reviews_frame()
    df.loc[0, "date"] = None
    with pytest.raises(InputDataError, match=r"lack the event time 'date' \(first: row 0\)"):
        _check(df)


def test_unparsable_event_times_name_the_value() -> None:
    df = reviews_frame()
    df.loc[4, "date"] = "yesterday"
    with pytest.raises(InputDataError, match=r"cannot parse event time 'yesterday' \(row 4\)"):
        _check(df)
    fractional = FeatureDefinition("t", FeatureType.FRACTIONAL)
    with pytest.raises(InputDataError, match="cannot parse event time 'soon'"):
        event_time_ns(pd.Series(["12.5", "soon"]), fractional)
    with pytest.raises(InputDataError, match="not a finite number"):
        event_time_ns(pd.Series([1.0, np.inf]), fractional)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("sentiment", "positive", "'sentiment' is Integral but row 1 holds 'positive'"),
        ("sentiment", 0.5, "'sentiment' is Integral but row 1 holds 0.5"),
        ("score", "high", "'score' is Fractional but row 1 holds 'high'"),
        ("review_body", 42, "'review_body' is String but row 1 holds 42"),
        ("input_ids", "101 7 102", "'input_ids' is Integral Vector but row 1 holds"),
        ("input_ids", [101, "x", 102], "'input_ids' is Integral Vector but row 1"),
        ("input_ids", [101, 102], "needs 3 values, row 1 has 2"),
    ],
)
def test_wrong_types_name_feature_row_and_value(column: str, value: object, message: str) -> None:
    df = reviews_frame()
    df[column] = df[column].astype(object)
    df.at[1, column] = value
    with pytest.raises(InputDataError, match=message):
        _check(df)


def test_unknown_features_are_refused() -> None:
    with pytest.raises(InputDataError, match="unknown feature.*'color'") as info:
        _check(reviews_frame().assign(color="red"))
    assert "review_id" in (info.value.hint or "")


def test_absent_features_are_null_and_whole_floats_are_integral() -> None:
    df = reviews_frame(2).drop(columns=["score"]).astype({"sentiment": float})
    batch = validate_frame(df, DEFS, "review_id", "date")
    assert batch.table.column("score").null_count == 2
    assert batch.table.column("sentiment").to_pylist() == [-1, 0]


def test_bad_records_write_nothing(group: FeatureGroup) -> None:
    df = reviews_frame(10)
    df.loc[9, "date"] = "not a date"
    with pytest.raises(InputDataError, match="not a date"):
        group.ingest(df, batch_size=2)
    assert group.get_record(1) is None
    assert group.as_dataframe(include_deleted=True).empty
    with pytest.raises(InputDataError, match="non-empty"):
        group.put_record({})
    with pytest.raises(InputDataError, match="not an integer"):
        group.get_record("seventeen")
