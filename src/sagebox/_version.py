"""The version of sagebox (re-exported as ``sagebox.__version__``)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
