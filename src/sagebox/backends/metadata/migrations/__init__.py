"""Alembic migrations of the metadata store, run by the store itself on open."""
