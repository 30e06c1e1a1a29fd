"""Feature groups: control plane, online data plane, offline store, SQL, deletes, TTL."""

from __future__ import annotations

import pandas as pd
import pytest

from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError
from sagebox.features import FeatureGroup, FeatureStore
from sagebox.features.offline import offline_keys
from sagebox.session import Session
from sagebox.sql import SqlEngine
from tests.features.conftest import reviews_frame


def test_create_registers_group_and_catalog_table(group: FeatureGroup, session: Session) -> None:
    record = group.describe()
    assert record.table_name == "sagebox_featurestore.reviews"
    assert record.offline_uri == session.storage.url("feature-store/reviews/")
    assert record.feature("input_ids").dimension == 3
    table = session.catalog.get_table("sagebox_featurestore", "reviews")
    assert [c.name for c in table.columns][-3:] == [
        "write_time",
        "api_invocation_time",
        "is_deleted",
    ]
    assert table.parameters["feature_group"] == "reviews"
    with pytest.raises(AlreadyExistsError, match="'reviews' already exists"):
        FeatureGroup("reviews", feature_definitions=record.features, session=session).create(
            "review_id", "date"
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"record_identifier_name": "nope"}, "has no feature 'nope'"),
        ({"event_time_feature_name": "nope"}, "has no feature 'nope'"),
        ({"record_identifier_name": "score"}, "must be an Integral or String"),
        ({"event_time_feature_name": "input_ids"}, "cannot be a list"),
        ({"ttl": "soon"}, "cannot read the TTL"),
        ({"ttl": -5}, "must be positive"),
        ({"offline_uri": "s3://elsewhere/x"}, "outside the data lake"),
    ],
)
def test_bad_create_arguments(session: Session, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    fg = FeatureGroup("g1", session=session)
    fg.load_feature_definitions(reviews_frame())
    args = {"record_identifier_name": "review_id", "event_time_feature_name": "date", **kwargs}
    with pytest.raises(InputDataError, match=message):
        fg.create(**args)
    assert not fg.exists()


def test_bad_group_names_and_missing_groups(session: Session) -> None:
    for bad in ("1abc", "has space", "a--b", "x" * 65):
        with pytest.raises(InputDataError, match="invalid feature group name"):
            FeatureGroup(bad, session=session)
    with pytest.raises(InputDataError, match="no feature definitions"):
        FeatureGroup("empty", session=session).create("id", "t")
    with pytest.raises(NotFoundError, match="no feature group 'missing'"):
        FeatureGroup("missing", session=session).describe()


def test_list_search_and_delete(group: FeatureGroup, session: Session) -> None:
    other = FeatureGroup("customers", session=session)
    other.load_feature_definitions(pd.DataFrame({"cid": ["a"], "t": [1.0], "age": [30]}))
    other.create("cid", "t", enable_online_store=False, description="customer profile")
    store = FeatureStore(session)
    assert [g.name for g in store.list()] == ["customers", "reviews"]
    assert [g.name for g in store.search("NLP")] == ["reviews"]
    assert [g.name for g in store.search("team=nlp", ("tag",))] == ["reviews"]
    assert [g.name for g in store.search("profile")] == ["customers"]
    assert [g.name for g in store.search("input_ids", ("feature",))] == ["reviews"]
    assert store.search("customers", ("description",)) == []
    with pytest.raises(InputDataError, match="cannot search feature groups by color"):
        store.search("x", ("color",))
    with pytest.raises(NotFoundError) as info:
        store.describe("reveiws")
    assert "did you mean reviews" in (info.value.hint or "")
    group.ingest(reviews_frame(2))
    group.delete()
    assert [g.name for g in store.list()] == ["customers"]
    with pytest.raises(NotFoundError):
        session.catalog.get_table("sagebox_featurestore", "reviews")


def test_ingest_then_get_records(group: FeatureGroup) -> None:
    result = group.ingest(reviews_frame(6), max_workers=2, batch_size=2)
    assert (result.rows, result.batches, result.online_written, result.offline_files) == (
        6,
        3,
        6,
        3,
    )
    assert group.get_record(2) == {
        "review_id": 2,
        "date": "2026-11-27T10:00:00Z",
        "sentiment": 0,
        "score": 0.1,
        "review_body": "review number 1",
        "input_ids": [101, 1, 102],
    }
    assert group.get_record("3", features=["sentiment", "input_ids"]) == {
        "sentiment": 1,
        "input_ids": [101, 2, 102],
    }
    assert group.batch_get_record([6, 99, 1], ["score"]) == [{"score": 0.5}, None, {"score": 0.0}]
    with pytest.raises(InputDataError, match="has no feature 'nope'"):
        group.get_record(1, features=["nope"])


def test_older_event_time_goes_offline_only(group: FeatureGroup) -> None:
    group.ingest(reviews_frame(2))
    old = reviews_frame(1, date="2026-11-26T10:00:00Z").assign(sentiment=[1])
    result = group.put_record(old.iloc[0].to_dict())
    assert (result.online_written, result.online_skipped) == (0, 1)
    assert group.get_record(1, ["sentiment"]) == {"sentiment": -1}
    offline = group.as_dataframe()
    assert sorted(offline.loc[offline["review_id"] == 1, "date"]) == [
        "2026-11-26T10:00:00Z",
        "2026-11-27T10:00:00Z",
    ]
    newer = reviews_frame(1, date="2026-11-28T10:00:00Z").assign(sentiment=[1])
    group.ingest(newer)
    assert group.get_record(1, ["sentiment", "date"]) == {
        "sentiment": 1,
        "date": "2026-11-28T10:00:00Z",
    }
    latest = group.as_dataframe(latest=True)
    assert latest.loc[latest["review_id"] == 1, "sentiment"].tolist() == [1]


def test_reingest_is_idempotent(group: FeatureGroup, session: Session) -> None:
    df = reviews_frame(5)
    group.ingest(df, batch_size=2)
    before = (group.batch_get_record(list(range(1, 6))), offline_keys(session, group.describe()))
    again = group.ingest(df, batch_size=2, max_workers=2)
    assert (again.offline_files, again.offline_existing) == (0, 3)
    after = (group.batch_get_record(list(range(1, 6))), offline_keys(session, group.describe()))
    assert after == before
    assert len(group.as_dataframe()) == 5


def test_interrupted_ingest_leaves_whole_batches_and_resumes(
    group: FeatureGroup, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = group._online
    real = store.write_batch
    calls = {"n": 0}

    def flaky(name: str, records: list) -> int:  # type: ignore[type-arg]
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("online store went away mid-ingest")
        return real(name, records)

    monkeypatch.setattr(store, "write_batch", flaky)
    df = reviews_frame(10)
    with pytest.raises(ConnectionError):
        group.ingest(df, batch_size=3)
    visible = [r is not None for r in group.batch_get_record(list(range(1, 11)))]
    assert visible == [True] * 6 + [False] * 4  # batches 1-2 whole, batch 3 not at all
    monkeypatch.setattr(store, "write_batch", real)
    result = group.ingest(df, batch_size=3)
    assert all(r is not None for r in group.batch_get_record(list(range(1, 11))))
    assert result.offline_files == 1 and result.offline_existing == 3  # batch 3 was offline
    assert len(group.as_dataframe()) == 10


def test_soft_and_hard_deletes(group: FeatureGroup) -> None:
    group.ingest(reviews_frame(3))
    group.delete_record(1, "2026-11-28T00:00:00Z")
    assert group.get_record(1) is None
    group.put_record(reviews_frame(1, date="2026-11-27T12:00:00Z").iloc[0].to_dict())
    assert group.get_record(1) is None  # older than the deletion
    group.delete_record(2, "2026-11-28T00:00:00Z", deletion_mode="HardDelete")
    assert group.get_record(2) is None
    group.put_record(reviews_frame(2, date="2026-11-27T12:00:00Z").iloc[1].to_dict())
    assert group.get_record(2) is not None  # nothing newer remained online
    offline = group.as_dataframe(include_deleted=True)
    assert offline["is_deleted"].sum() == 2
    assert 1 not in group.as_dataframe(latest=True)["review_id"].tolist()
    with pytest.raises(InputDataError, match="unknown deletion mode"):
        group.delete_record(3, "2026-11-28T00:00:00Z", deletion_mode="Shred")


def test_online_records_expire_after_the_ttl(session: Session) -> None:
    now = pd.Timestamp.now(tz="UTC")
    fg = FeatureGroup("ttl", session=session)
    fg.load_feature_definitions(reviews_frame())
    fg.create("review_id", "date", ttl="1h")
    fresh = reviews_frame(1, date=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    stale = reviews_frame(2, date=(now - pd.Timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    fg.ingest(pd.concat([fresh, stale.iloc[[1]]], ignore_index=True))
    assert fg.get_record(1) is not None
    assert fg.get_record(2) is None
    assert len(fg.as_dataframe()) == 2  # expiry is an online matter only
    assert fg.update(ttl="2d").ttl_seconds == 172800


def test_offline_store_is_queryable_with_sql(group: FeatureGroup, session: Session) -> None:
    group.ingest(reviews_frame(6))
    group.delete_record(6, "2026-11-28T00:00:00Z")
    query = group.athena_query()
    frame = query.run(
        f'SELECT sentiment, COUNT(*) AS n FROM "{query.table_name}" '
        "WHERE NOT is_deleted GROUP BY 1 ORDER BY 1"
    ).as_dataframe()
    assert frame.to_dict(orient="list") == {"sentiment": [-1, 0, 1], "n": [2, 2, 2]}
    rows = SqlEngine(session).execute(
        "SELECT COUNT(*) AS n, SUM(CAST(is_deleted AS INT)) AS d, MAX(len(input_ids)) AS w "
        "FROM sagebox_featurestore.reviews"
    )
    assert rows.to_pandas().iloc[0].tolist() == [7, 1, 3]
    with pytest.raises(InputDataError, match="no query has run"):
        group.athena_query().as_dataframe()


def test_group_without_online_store(session: Session) -> None:
    fg = FeatureGroup("offline-only", session=session)
    fg.load_feature_definitions(reviews_frame())
    fg.create("review_id", "date", enable_online_store=False)
    result = fg.ingest(reviews_frame(3))
    assert result.online_written == 0 and result.offline_files == 1
    with pytest.raises(InputDataError, match="has no online store"):
        fg.get_record(1)
    assert len(fg.as_dataframe()) == 3
