"""The feature-store part of ``sagebox demo --feature-store``.

The demo's prepare step becomes the ``review-features`` job (tokenized splits ingested into
the ``reviews`` feature group); training reads point-in-time training sets built from the
group's offline store; the registered model looks records up online, so the endpoint
answers ``{"review_id": ...}`` requests.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagebox.backends.metadata.base import JobRecord
    from sagebox.session import Session

__all__ = [
    "DEMO_FEATURE_GROUP",
    "engineer_parameters",
    "lookup_model_uri",
    "sample_ids",
    "training_channels",
]

#: the feature group the demo engineers its review features into
DEMO_FEATURE_GROUP = "reviews"


def engineer_parameters(table: str, partition: dict[str, Any], seed: int) -> dict[str, Any]:
    """The ``review-features`` job's parameters in the demo."""
    return {
        "table": table,
        "partition": partition,
        "seed": seed,
        "balance": True,
        "instance_count": 2,
        "feature_group": DEMO_FEATURE_GROUP,
        "event_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def training_channels(session: Session, engineered: JobRecord, run_id: str) -> dict[str, str]:
    """Point-in-time training sets of the job's train and validation ids, in the lake.

    The entity rows are the split's review ids at the current time; their features and
    labels come from the feature group's offline store as of that time.
    """
    import pandas as pd

    from sagebox import lake
    from sagebox.features import FeatureStore

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    store = FeatureStore(session)
    channels = {}
    for split in ("train", "validation"):
        key = session.key_for(engineered.outputs[split])
        ids = pd.read_parquet(io.BytesIO(session.storage.read_bytes(key)), columns=["review_id"])
        entities = ids.assign(date=now)
        rows = store.training_set(
            entities,
            [DEMO_FEATURE_GROUP],
            features={DEMO_FEATURE_GROUP: ["sentiment", "review_body", "product_category"]},
        )
        target = f"datasets/reviews/training-sets/run_id={run_id}/{split}.parquet"
        channels[split] = lake.to_parquet(rows, target, mode="overwrite", session=session).uri
    return channels


def lookup_model_uri(session: Session, training: JobRecord) -> str:
    """The trained model, repackaged to look reviews up online by ``review_id``."""
    from sagebox.features.lookup import attach_feature_lookup

    return attach_feature_lookup(training.outputs["model"], DEMO_FEATURE_GROUP, session=session)


def sample_ids(session: Session, engineered: JobRecord, count: int = 3) -> list[int]:
    """A few test-split review ids (to invoke the endpoint with)."""
    import pandas as pd

    key = session.key_for(engineered.outputs["test"])
    frame = pd.read_parquet(io.BytesIO(session.storage.read_bytes(key)), columns=["review_id"])
    return [int(v) for v in frame["review_id"].head(count)]
