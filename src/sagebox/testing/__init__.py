"""Conformance suites for third-party backends and algorithms (pytest test classes)."""
