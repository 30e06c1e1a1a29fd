"""Exploration reports (the Data Wrangler equivalent): one offline HTML page per table.

Example:
    >>> from sagebox.explore import explore
    >>> report = explore("reviews.raw", out="report.html")  # doctest: +SKIP
    >>> report.charts  # doctest: +SKIP
    ['rating_distribution', 'sentiment_distribution', 'reviews_per_category', ...]
"""

from __future__ import annotations

from sagebox.explore.report import ExploreReport, explore, load_source

__all__ = ["ExploreReport", "explore", "load_source"]
