"""The metadata-store and feature-group-store conformance suites, for any backend.

The checks use only the interfaces of :mod:`sagebox.backends.metadata`
(:class:`~sagebox.backends.metadata.MetadataStore`,
:class:`~sagebox.backends.metadata.FeatureGroupStore`) and their record types, so a store on
any database passes them if it keeps the contract those interfaces document. sagebox runs them
on its SQL stores over SQLite and a real PostgreSQL server (``tests/conformance/metadata``).

A backend author subclasses a suite in a test file and provides its fixture: a function that
opens a new connection to one empty database (each call a new connection to the same
database, which must be fresh for each test)::

    import pytest
    from sagebox.testing.metadata import FeatureGroupStoreSuite, MetadataStoreSuite

    class TestMyMetadataStore(MetadataStoreSuite):
        @pytest.fixture()
        def open_metadata(self, tmp_path):
            return lambda: MyMetadataStore(f"mydb://{tmp_path}/sagebox")

    class TestMyFeatureGroupStore(FeatureGroupStoreSuite):
        @pytest.fixture()
        def open_feature_groups(self, tmp_path):
            return lambda: MyFeatureGroupStore(f"mydb://{tmp_path}/sagebox")

pytest collects the subclasses (their names start with ``Test``) and runs every check. The
suites' tests use ``store`` and ``registry``: one store opened with the fixture and closed
after the test. Parametrize the fixture (``@pytest.fixture(params=[...])``) to run a suite on
several databases. Importing this module imports pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from sagebox.backends.metadata import (
    ArtifactRecord,
    CollectionType,
    EndpointRecord,
    FeatureDefinition,
    FeatureGroupRecord,
    FeatureGroupStore,
    FeatureType,
    JobRecord,
    JobStatus,
    MetadataStore,
    MetricPoint,
    ModelRecord,
    RuleEvaluationRecord,
)
from sagebox.errors import AlreadyExistsError, InputDataError, NotFoundError

__all__ = ["FeatureGroupStoreSuite", "MetadataStoreSuite", "OpenFeatureGroups", "OpenMetadata"]

#: opens a new connection to the metadata database under test
OpenMetadata = Callable[[], MetadataStore]
#: opens a new connection to the feature-group store under test
OpenFeatureGroups = Callable[[], FeatureGroupStore]


def _job(name: str, kind: str = "training", **fields: object) -> JobRecord:
    return JobRecord(name=name, kind=kind, **fields)  # type: ignore[arg-type]


def _assert_utc(value: datetime | None) -> None:
    assert value is not None and value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


class MetadataStoreSuite:
    """Every check a metadata store passes; needs an ``open_metadata`` fixture (see the module).

    Covers jobs (round trip, duplicates, updates, compare-and-set, statuses, listing order,
    metric time series, restarts, worker slots and runner leases), artifacts, models,
    endpoints, rule evaluations, and data kept across connections.
    """

    @pytest.fixture()
    def store(self, open_metadata: OpenMetadata) -> Iterator[MetadataStore]:
        """A store opened with ``open_metadata``, closed after the test."""
        opened = open_metadata()
        yield opened
        opened.close()

    # jobs
    def test_create_and_get_job_roundtrip_every_field(self, store: MetadataStore) -> None:
        started = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
        job = _job(
            "train-1",
            parameters={"epochs": 3, "lr": 0.01, "layers": [64, 32], "opts": {"seed": 7}},
            inputs={"train": "file:///lake/train.parquet"},
            outputs={"model": "file:///lake/model.tar.gz"},
            metrics={"loss": 0.5},
            log_uri="file:///jobs/train-1/log.txt",
            handle="4242",
            started_at=started,
        )
        created = store.create_job(job)
        _assert_utc(created.created_at)
        assert abs(datetime.now(UTC) - created.created_at) < timedelta(minutes=1)  # type: ignore[operator]
        fetched = store.get_job("train-1")
        assert fetched == created
        assert fetched.parameters == job.parameters and fetched.metrics == {"loss": 0.5}
        assert fetched.status is JobStatus.PENDING
        assert fetched.started_at == started
        _assert_utc(fetched.started_at)

    def test_duplicate_job_name_raises_and_store_stays_usable(self, store: MetadataStore) -> None:
        store.create_job(_job("dup"))
        with pytest.raises(AlreadyExistsError, match="'dup'") as info:
            store.create_job(_job("dup", kind="processing"))
        assert "sagebox jobs list" in (info.value.hint or "")
        assert store.get_job("dup").kind == "training"
        store.create_job(_job("other"))

    def test_missing_job_raises_not_found_with_hint(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError, match="'nope'") as info:
            store.get_job("nope")
        assert "sagebox jobs list" in (info.value.hint or "")
        with pytest.raises(NotFoundError):
            store.update_job("nope", status=JobStatus.FAILED)

    def test_update_job_sets_fields_and_merges_metrics(self, store: MetadataStore) -> None:
        store.create_job(_job("t", metrics={"loss": 1.0}))
        store.update_job("t", status=JobStatus.IN_PROGRESS, metrics={"loss": 0.7, "acc": 0.5})
        ended = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
        updated = store.update_job(
            "t",
            status="Failed",
            metrics={"f1": 0.4},
            failure_reason="OOM",
            ended_at=ended,
            outputs={"model": "file:///m"},
        )
        assert updated.metrics == {"loss": 0.7, "acc": 0.5, "f1": 0.4}
        assert updated.status is JobStatus.FAILED and updated.failure_reason == "OOM"
        assert updated.ended_at == ended
        _assert_utc(updated.ended_at)
        assert store.get_job("t") == updated

    @pytest.mark.parametrize("field", ["name", "created_at", "colour"])
    def test_update_job_rejects_fields_it_cannot_set(
        self, store: MetadataStore, field: str
    ) -> None:
        store.create_job(_job("t"))
        with pytest.raises(TypeError, match=field):
            store.update_job("t", **{field: "x"})

    def test_every_job_status_roundtrips(self, store: MetadataStore) -> None:
        for status in JobStatus:
            store.create_job(_job(f"job-{status.value}", status=status))
            assert store.get_job(f"job-{status.value}").status is status
            assert [j.name for j in store.list_jobs(status=status)] == [f"job-{status.value}"]

    def test_list_jobs_newest_first_with_filters_and_limit(self, store: MetadataStore) -> None:
        base = datetime(2024, 1, 1, tzinfo=UTC)
        for i, kind in enumerate(["training", "processing", "training", "transform"]):
            store.create_job(_job(f"j{i}", kind=kind, created_at=base + timedelta(minutes=i)))
        store.update_job("j2", status=JobStatus.COMPLETED)
        assert [j.name for j in store.list_jobs()] == ["j3", "j2", "j1", "j0"]
        assert [j.name for j in store.list_jobs(kind="training")] == ["j2", "j0"]
        assert [j.name for j in store.list_jobs(status=JobStatus.PENDING, limit=2)] == ["j3", "j1"]
        assert [j.name for j in store.list_jobs(kind="training", status=JobStatus.COMPLETED)] == [
            "j2"
        ]
        assert store.list_jobs(kind="tuning") == []
        for job in store.list_jobs():
            _assert_utc(job.created_at)

    def test_jobs_created_in_the_same_instant_list_newest_first(self, store: MetadataStore) -> None:
        for i in range(5):
            store.create_job(_job(f"fast-{i}"))
        assert [j.name for j in store.list_jobs()] == [f"fast-{i}" for i in reversed(range(5))]

    def test_metric_points_append_in_order_and_update_last_values(
        self, store: MetadataStore
    ) -> None:
        store.create_job(JobRecord(name="t", kind="training", metrics={"other": 1.0}))
        store.add_metric_points("t", [MetricPoint("loss", 0.9, 1), MetricPoint("acc", 0.5, 1)])
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        store.add_metric_points(
            "t", [MetricPoint("loss", 0.4, 2, at), MetricPoint("loss", float("nan"), 3)]
        )
        points = store.list_metric_points("t")
        assert [(p.name, p.value, p.step) for p in points] == [
            ("loss", 0.9, 1),
            ("acc", 0.5, 1),
            ("loss", 0.4, 2),
        ]
        assert points[2].timestamp == at
        assert all(p.timestamp is not None and p.timestamp.tzinfo is not None for p in points)
        assert [p.value for p in store.list_metric_points("t", name="loss")] == [0.9, 0.4]
        assert store.get_job("t").metrics == {"other": 1.0, "loss": 0.4, "acc": 0.5}
        assert store.list_metric_points("no-such-job") == []
        with pytest.raises(NotFoundError):
            store.add_metric_points("no-such-job", [MetricPoint("x", 1.0)])

    def test_update_job_if_is_compare_and_set(self, store: MetadataStore) -> None:
        store.create_job(JobRecord(name="t", kind="training", handle="local:1"))
        won = store.update_job_if(
            "t", {"handle": "local:1", "restarts": 0}, handle="local:2", restarts=1
        )
        assert won is not None and won.handle == "local:2" and won.restarts == 1
        assert store.update_job_if("t", {"handle": "local:1"}, handle="local:3") is None
        assert store.get_job("t").handle == "local:2"
        assert store.update_job_if("t", {"status": JobStatus.PENDING}, status="Failed") is not None
        with pytest.raises(TypeError, match="colour"):
            store.update_job_if("t", {"colour": 1}, handle="x")
        with pytest.raises(NotFoundError):
            store.update_job_if("nope", {}, handle="x")

    # worker slots and runner leases
    def test_claim_job_slot_takes_free_slots_and_refuses_when_full(
        self, store: MetadataStore
    ) -> None:
        for name in ("a", "b", "c"):
            store.create_job(_job(name))
        a = store.claim_job_slot("a", "runner-a", slots=2, lease_seconds=60)
        assert a is not None and a.slot == 0 and a.status is JobStatus.IN_PROGRESS
        assert a.lease_owner == "runner-a" and a.started_at is not None
        _assert_utc(a.lease_expires_at)
        assert a.lease_expires_at > datetime.now(UTC) + timedelta(seconds=30)  # type: ignore[operator]
        assert store.get_job("a") == a
        b = store.claim_job_slot("b", "runner-b", slots=2, lease_seconds=60)
        assert b is not None and b.slot == 1
        assert store.claim_job_slot("c", "runner-c", slots=2, lease_seconds=60) is None
        assert store.get_job("c").status is JobStatus.PENDING and store.get_job("c").slot is None
        # a restarted runner of a job keeps the job's slot
        again = store.claim_job_slot("a", "runner-a2", slots=2, lease_seconds=60)
        assert again is not None and again.slot == 0 and again.lease_owner == "runner-a2"
        assert again.started_at == a.started_at
        # an ended job gives its slot up
        ended = store.update_job("a", status=JobStatus.COMPLETED)
        assert ended.slot is None and ended.lease_expires_at is None
        c = store.claim_job_slot("c", "runner-c", slots=2, lease_seconds=60)
        assert c is not None and c.slot == 0
        # an ended or Stopping job is not started
        assert store.claim_job_slot("a", "x", slots=5, lease_seconds=60) == store.get_job("a")
        store.create_job(_job("d"))
        store.update_job("d", status=JobStatus.STOPPING)
        refused = store.claim_job_slot("d", "x", slots=5, lease_seconds=60)
        assert refused is not None and refused.slot is None
        assert refused.status is JobStatus.STOPPING
        with pytest.raises(TypeError, match="slot"):
            store.update_job("d", slot=3)
        with pytest.raises(NotFoundError):
            store.claim_job_slot("nope", "x", slots=2, lease_seconds=60)

    def test_renew_job_lease_only_by_its_owner(self, store: MetadataStore) -> None:
        store.create_job(_job("t"))
        store.create_job(_job("queued"))
        claimed = store.claim_job_slot("t", "me", slots=1, lease_seconds=1)
        assert claimed is not None and claimed.lease_expires_at is not None
        renewed = store.renew_job_lease("t", "me", lease_seconds=120)
        assert renewed is not None and renewed.lease_expires_at is not None
        assert renewed.lease_expires_at > claimed.lease_expires_at
        assert store.renew_job_lease("t", "someone-else", lease_seconds=120) is None
        assert store.renew_job_lease("queued", "me", lease_seconds=120) is None
        store.update_job("t", status=JobStatus.FAILED)
        assert store.renew_job_lease("t", "me", lease_seconds=120) is None
        with pytest.raises(NotFoundError):
            store.renew_job_lease("nope", "me", lease_seconds=1)

    def test_list_expired_jobs_and_reap_with_compare_and_set(self, store: MetadataStore) -> None:
        for name in ("old", "fresh", "done"):
            store.create_job(_job(name))
        store.claim_job_slot("old", "r-old", slots=3, lease_seconds=60)
        store.claim_job_slot("fresh", "r-fresh", slots=3, lease_seconds=3600)
        store.claim_job_slot("done", "r-done", slots=3, lease_seconds=60)
        store.update_job("done", status=JobStatus.COMPLETED)
        assert store.list_expired_jobs() == []
        later = datetime.now(UTC) + timedelta(minutes=10)
        expired = store.list_expired_jobs(now=later)
        assert [j.name for j in expired] == ["old"]
        seen = expired[0]
        # a renewal between the look and the reap makes the reap lose
        store.renew_job_lease("old", "r-old", lease_seconds=60)
        lost = {"lease_owner": seen.lease_owner, "lease_expires_at": seen.lease_expires_at}
        assert store.update_job_if("old", lost, status=JobStatus.FAILED) is None
        seen = store.list_expired_jobs(now=later)[0]
        lost = {"lease_owner": seen.lease_owner, "lease_expires_at": seen.lease_expires_at}
        reaped = store.update_job_if("old", lost, status=JobStatus.FAILED, failure_reason="lost")
        assert reaped is not None and reaped.slot is None
        assert store.list_expired_jobs(now=later) == []
        # its slot is free again
        store.create_job(_job("next"))
        assert store.claim_job_slot("next", "r-next", slots=3, lease_seconds=60) is not None

    def test_concurrent_claims_never_share_a_slot(self, open_metadata: OpenMetadata) -> None:
        import threading

        stores = [open_metadata() for _ in range(6)]
        try:
            for round_ in range(5):
                names = [f"race-{round_}-{i}" for i in range(len(stores))]
                for name in names:
                    stores[0].create_job(_job(name))
                barrier = threading.Barrier(len(stores))
                won: dict[str, JobRecord | None] = {}

                def claim(
                    index: int,
                    name: str,
                    barrier: threading.Barrier = barrier,
                    won: dict[str, JobRecord | None] = won,
                ) -> None:
                    barrier.wait(timeout=30)
                    won[name] = stores[index].claim_job_slot(name, name, 2, lease_seconds=60)

                threads = [threading.Thread(target=claim, args=(i, n)) for i, n in enumerate(names)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)
                slots = [r.slot for r in won.values() if r is not None]
                assert len(slots) == len(set(slots)) and set(slots) <= {0, 1}
                holders = [j for j in stores[0].list_jobs(limit=1000) if j.slot is not None]
                assert sorted(j.slot for j in holders) == sorted(slots)  # type: ignore[type-var]
                for job in holders:
                    stores[0].update_job(job.name, status=JobStatus.COMPLETED)
        finally:
            for opened in stores:
                opened.close()

    def test_restarts_roundtrip(self, store: MetadataStore) -> None:
        assert store.create_job(JobRecord(name="t", kind="training")).restarts == 0
        assert store.update_job("t", restarts=2).restarts == 2
        assert store.get_job("t").restarts == 2

    # artifacts
    def test_artifacts_add_and_list_with_filters(self, store: MetadataStore) -> None:
        big = 5 * 2**32  # sizes beyond 32 bits
        first = store.add_artifact(
            ArtifactRecord("file:///a", "dataset", "a" * 64, big, "job-1", {"rows": 10})
        )
        store.add_artifact(ArtifactRecord("file:///b", "model", "b" * 64, 20, "job-1"))
        store.add_artifact(ArtifactRecord("file:///a", "dataset", "c" * 64, 30, "job-2"))
        store.add_artifact(ArtifactRecord("file:///c", "report", "d" * 64, 40))
        assert first.artifact_id is not None
        _assert_utc(first.created_at)
        everything = store.list_artifacts()
        assert [a.sha256[0] for a in everything] == ["a", "b", "c", "d"]  # oldest first
        assert everything[0] == first and everything[0].size == big
        assert everything[0].properties == {"rows": 10}
        assert [a.uri for a in store.list_artifacts(producer_job="job-1")] == [
            "file:///a",
            "file:///b",
        ]
        assert [a.producer_job for a in store.list_artifacts(uri="file:///a")] == [
            "job-1",
            "job-2",
        ]
        assert [a.size for a in store.list_artifacts(producer_job="job-2", uri="file:///a")] == [30]
        assert store.list_artifacts(uri="file:///zzz") == []

    # models
    def test_models_crud(self, store: MetadataStore) -> None:
        manifest = {"algorithm": "xgboost", "labels": [-1, 0, 1], "signature": {"input": "text"}}
        created = store.create_model(ModelRecord("m1", "file:///m1.tar.gz", manifest, "train-1"))
        digest = "ab" * 32
        store.create_model(ModelRecord("m2", "file:///m2.tar.gz", sha256=digest))
        _assert_utc(created.created_at)
        assert store.get_model("m1") == created and created.manifest == manifest
        assert created.sha256 is None
        assert store.get_model("m2").sha256 == digest and store.get_model("m2").manifest == {}
        assert [m.name for m in store.list_models()] == ["m2", "m1"]
        with pytest.raises(AlreadyExistsError, match="'m1'"):
            store.create_model(ModelRecord("m1", "file:///other"))
        store.delete_model("m1")
        assert [m.name for m in store.list_models()] == ["m2"]
        with pytest.raises(NotFoundError, match="'m1'") as info:
            store.get_model("m1")
        assert "sagebox models list" in (info.value.hint or "")
        with pytest.raises(NotFoundError):
            store.delete_model("m1")

    # endpoints
    def test_endpoints_put_creates_and_replaces(self, store: MetadataStore) -> None:
        first = store.put_endpoint(EndpointRecord("ep", "m1", "Creating", config={"variants": 1}))
        _assert_utc(first.created_at)
        _assert_utc(first.updated_at)
        replaced = store.put_endpoint(
            EndpointRecord("ep", "m2", "InService", "http://127.0.0.1:8080", "123", {"variants": 2})
        )
        assert replaced.created_at == first.created_at
        assert replaced.updated_at >= first.updated_at  # type: ignore[operator]
        assert (replaced.model_name, replaced.status, replaced.url, replaced.handle) == (
            "m2",
            "InService",
            "http://127.0.0.1:8080",
            "123",
        )
        assert store.get_endpoint("ep") == replaced and replaced.config == {"variants": 2}
        store.put_endpoint(EndpointRecord("ep2", "m1", "Creating"))
        assert [e.name for e in store.list_endpoints()] == ["ep2", "ep"]

    def test_endpoints_delete_and_missing(self, store: MetadataStore) -> None:
        store.put_endpoint(EndpointRecord("ep", "m1", "InService"))
        store.delete_endpoint("ep")
        assert store.list_endpoints() == []
        with pytest.raises(NotFoundError, match="'ep'") as info:
            store.get_endpoint("ep")
        assert "sagebox endpoints list" in (info.value.hint or "")
        with pytest.raises(NotFoundError):
            store.delete_endpoint("ep")

    # rule evaluations
    def test_rule_evaluation_upserts_by_job_and_rule(self, store: MetadataStore) -> None:
        assert store.list_rule_evaluations("j") == []
        first = store.put_rule_evaluation(
            RuleEvaluationRecord(
                "j", "Overfit", actions=[{"type": "stop_training"}], parameters={"patience": 1}
            )
        )
        assert first.status == "InProgress" and first.updated_at is not None
        assert first.updated_at.tzinfo is not None
        store.put_rule_evaluation(RuleEvaluationRecord("j", "CPUBottleneck", kind="profiler"))
        store.put_rule_evaluation(RuleEvaluationRecord("other", "Overfit"))
        fired = store.put_rule_evaluation(
            RuleEvaluationRecord(
                "j",
                "Overfit",
                status="IssuesFound",
                step=12,
                message="validation loss rose 3 times",
                evidence={"ratio": 0.4, "losses": [0.5, 0.6]},
                actions=[{"type": "stop_training", "result": "stopped"}],
                parameters={"patience": 1},
            )
        )
        assert fired.updated_at is not None and fired.updated_at >= first.updated_at
        rows = store.list_rule_evaluations("j")
        assert [(r.rule_name, r.kind, r.status) for r in rows] == [
            ("Overfit", "debugger", "IssuesFound"),
            ("CPUBottleneck", "profiler", "InProgress"),
        ]
        assert rows[0].step == 12 and rows[0].message == "validation loss rose 3 times"
        assert rows[0].evidence == {"ratio": 0.4, "losses": [0.5, 0.6]}
        assert rows[0].actions == [{"type": "stop_training", "result": "stopped"}]
        assert rows[0].parameters == {"patience": 1}
        assert [r.rule_name for r in store.list_rule_evaluations("other")] == ["Overfit"]

    def test_rule_evidence_with_nan_and_numpy_values_is_stored(self, store: MetadataStore) -> None:
        evidence = {
            "norm": float("nan"),
            "max": float("inf"),
            "min": -float("inf"),
            "steps": np.array([1, 2]),
            "mean": np.float32(0.5),
            "count": np.int64(3),
        }
        store.put_rule_evaluation(
            RuleEvaluationRecord("j", "ExplodingTensor", status="IssuesFound", evidence=evidence)
        )
        (row,) = store.list_rule_evaluations("j")
        assert row.evidence == {
            "norm": "NaN",
            "max": "Infinity",
            "min": "-Infinity",
            "steps": [1, 2],
            "mean": 0.5,
            "count": 3,
        }

    # connections
    def test_opening_twice_keeps_data(self, open_metadata: OpenMetadata) -> None:
        first = open_metadata()
        first.create_job(_job("kept"))
        first.close()
        second = open_metadata()
        assert second.get_job("kept").name == "kept"
        second.close()


def _group(name: str, **extra: object) -> FeatureGroupRecord:
    features = [
        FeatureDefinition("review_id", FeatureType.INTEGRAL),
        FeatureDefinition("date", FeatureType.STRING),
        FeatureDefinition("input_ids", FeatureType.INTEGRAL, CollectionType.VECTOR, 128),
    ]
    return FeatureGroupRecord(name, "review_id", "date", features, **extra)  # type: ignore[arg-type]


class FeatureGroupStoreSuite:
    """Every check a feature-group store passes; needs ``open_feature_groups`` (see the module)."""

    @pytest.fixture()
    def registry(self, open_feature_groups: OpenFeatureGroups) -> Iterator[FeatureGroupStore]:
        """A store opened with ``open_feature_groups``, closed after the test."""
        opened = open_feature_groups()
        yield opened
        opened.close()

    def test_registry_round_trip_update_search_delete(self, registry: FeatureGroupStore) -> None:
        created = registry.create(
            _group(
                "reviews",
                description="BERT inputs",
                tags={"t": "nlp"},
                ttl_seconds=60.0,
                offline_uri="file:///lake/fs/",
            )
        )
        assert created.created_at is not None and created.status == "Created"
        got = registry.get("reviews")
        assert got.features == created.features and got.ttl_seconds == 60.0
        assert got.feature("input_ids").dimension == 128
        with pytest.raises(AlreadyExistsError):
            registry.create(_group("reviews"))
        registry.create(_group("clicks", online_enabled=False))
        assert [g.name for g in registry.list()] == ["clicks", "reviews"]
        assert [g.name for g in registry.search("bert")] == ["reviews"]
        updated = registry.update("reviews", description="new", tags={"a": "b"})
        assert (updated.description, updated.tags) == ("new", {"a": "b"})
        with pytest.raises(InputDataError, match="cannot change record_identifier_name"):
            registry.update("reviews", status="x", record_identifier_name="x")
        registry.delete("clicks")
        with pytest.raises(NotFoundError, match="no feature group 'clicks'"):
            registry.get("clicks")
