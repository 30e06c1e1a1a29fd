"""Fixtures of the algorithm tests."""

from __future__ import annotations

from tests.fixtures.encoders import tiny_encoder  # noqa: F401
