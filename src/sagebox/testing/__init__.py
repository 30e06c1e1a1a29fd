"""Conformance suites for third-party backends and algorithms (pytest test classes).

Each suite is a class of ``test_*`` methods that check one contract: what a storage backend,
online store, compute backend or algorithm must do to work with the rest of sagebox. sagebox
runs the same suites on its own backends (``tests/conformance/``, ``tests/algorithms/``). To
check yours, subclass the suite in one of your test files and give it the fixture it asks for;
pytest collects the class (its name starts with ``Test``) and runs every check::

    # test_my_store.py
    import pytest
    from sagebox.testing import ObjectStoreSuite

    class TestMyStore(ObjectStoreSuite):
        @pytest.fixture()
        def store(self, tmp_path):
            return MyStore(f"my://{tmp_path}")  # an empty store for each test

The fixtures each suite needs:

- :class:`ObjectStoreSuite`: ``store``, an empty :class:`~sagebox.backends.storage.ObjectStore`.
- :class:`OnlineStoreSuite`: ``open_online``, a function opening a new connection to one empty
  :class:`~sagebox.backends.kv.OnlineStore`.
- :class:`ComputeBackendSuite`: ``open_compute``, a function opening a
  :class:`~sagebox.backends.compute.ComputeBackend` (each call a new client of the same backend).
- :class:`AlgorithmSuite`: ``algorithm``, an unfitted
  :class:`~sagebox.algorithms.TextClassifier` registered under its ``name``.
- :class:`MetadataStoreSuite`: ``open_metadata``; :class:`FeatureGroupStoreSuite`:
  ``open_feature_groups``; :class:`CatalogStoreSuite`: ``open_catalog``;
  :class:`QueryHistorySuite`: ``open_query_history`` — each a function opening a new connection
  to one empty store of that kind (see :mod:`sagebox.testing.metadata` and
  :mod:`sagebox.testing.catalog`).

Parametrize the fixture (``@pytest.fixture(params=[...])``) to run a suite on several
configurations. Importing this package imports pytest; ``import sagebox`` does not import it.
"""

from __future__ import annotations

import pytest

# Before the suites are imported, so that pytest shows the values in a failed ``assert``.
pytest.register_assert_rewrite(
    "sagebox.testing.algorithms",
    "sagebox.testing.catalog",
    "sagebox.testing.compute",
    "sagebox.testing.metadata",
    "sagebox.testing.online",
    "sagebox.testing.storage",
)

from sagebox.testing.algorithms import AlgorithmSuite  # noqa: E402
from sagebox.testing.catalog import CatalogStoreSuite, QueryHistorySuite  # noqa: E402
from sagebox.testing.compute import ComputeBackendSuite  # noqa: E402
from sagebox.testing.metadata import FeatureGroupStoreSuite, MetadataStoreSuite  # noqa: E402
from sagebox.testing.online import OnlineStoreSuite  # noqa: E402
from sagebox.testing.storage import ObjectStoreSuite  # noqa: E402

__all__ = [
    "AlgorithmSuite",
    "CatalogStoreSuite",
    "ComputeBackendSuite",
    "FeatureGroupStoreSuite",
    "MetadataStoreSuite",
    "ObjectStoreSuite",
    "OnlineStoreSuite",
    "QueryHistorySuite",
]
