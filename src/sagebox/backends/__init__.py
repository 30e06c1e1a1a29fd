"""Backends: one small interface per resource kind, implementations chosen by URI scheme."""
