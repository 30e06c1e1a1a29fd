"""Feature groups with the Redis online store (a real redis-server), chosen by setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from sagebox.backends.kv.redis import RedisOnlineStore
from sagebox.errors import ServiceUnavailableError
from sagebox.features import FeatureGroup
from sagebox.session import Session
from tests.conftest import free_port
from tests.features.conftest import reviews_frame

pytestmark = pytest.mark.integration


@pytest.fixture()
def redis_group(
    sagebox_env: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FeatureGroup]:
    monkeypatch.setenv("SAGEBOX_ONLINE_STORE_URI", redis_url)
    fg = FeatureGroup("reviews", session=Session())
    fg.load_feature_definitions(reviews_frame())
    fg.create("review_id", "date", ttl="3650d")
    yield fg
    fg.close()


def test_group_data_plane_on_redis(redis_group: FeatureGroup) -> None:
    assert isinstance(redis_group._online, RedisOnlineStore)
    result = redis_group.ingest(reviews_frame(50), max_workers=2, batch_size=7)
    assert result.online_written == 50
    assert redis_group.get_record(7, ["review_body", "input_ids"]) == {
        "review_body": "review number 6",
        "input_ids": [101, 6, 102],
    }
    old = reviews_frame(1, date="2026-01-01T00:00:00Z").assign(sentiment=[1])
    assert redis_group.put_record(old.iloc[0].to_dict()).online_skipped == 1
    redis_group.delete_record(1, "2026-12-01T00:00:00Z")
    redis_group.delete_record(2, "2026-12-01T00:00:00Z", deletion_mode="HardDelete")
    assert redis_group.batch_get_record([1, 2, 3])[:2] == [None, None]
    redis_group.delete()
    assert redis_group._online.count("reviews") == 0


def test_redis_ttl_expires_records(redis_group: FeatureGroup) -> None:
    redis_group.update(ttl="1h")
    now = pd.Timestamp.now(tz="UTC")
    fresh = reviews_frame(1, date=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    stale = reviews_frame(2, date=(now - pd.Timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    redis_group.ingest(pd.concat([fresh, stale.iloc[[1]]], ignore_index=True))
    assert redis_group.get_record(1) is not None and redis_group.get_record(2) is None


def test_unreachable_redis_is_a_clear_error() -> None:
    with pytest.raises(ServiceUnavailableError, match="cannot reach the Redis online store"):
        RedisOnlineStore(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=1)
