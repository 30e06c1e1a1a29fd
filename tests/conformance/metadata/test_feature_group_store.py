"""The feature-group store on every metadata database (SQLite, PostgreSQL): the shipped suite."""

from __future__ import annotations

import pytest

from sagebox.backends.metadata import open_feature_group_store
from sagebox.testing.metadata import FeatureGroupStoreSuite, OpenFeatureGroups


class TestSqlFeatureGroupStore(FeatureGroupStoreSuite):
    """:mod:`sagebox.testing.metadata`'s feature-group checks on the SQL store."""

    @pytest.fixture()
    def open_feature_groups(self, metadata_uri: str) -> OpenFeatureGroups:
        return lambda: open_feature_group_store(metadata_uri)
