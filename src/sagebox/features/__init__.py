"""The feature store (SageMaker Feature Store equivalent): feature groups, online and offline.

Public names are imported lazily (see ``__init__.pyi``), so ``import sagebox.features`` stays
light::

    from sagebox.features import FeatureGroup, FeatureStore

    group = FeatureGroup("reviews", session=session)
    group.load_feature_definitions(df)
    group.create(record_identifier_name="review_id", event_time_feature_name="date")
    group.ingest(df, max_workers=2)
    group.get_record(17, features=["sentiment"])
    FeatureStore(session).training_set(entities, ["reviews"])
"""

from __future__ import annotations

import lazy_loader

# The public names live in __init__.pyi; they are imported on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
