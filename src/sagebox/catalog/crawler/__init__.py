"""The crawler: discover datasets under a lake prefix and keep the catalog in step with them.

Example:
    >>> from sagebox.catalog.crawler import Crawler
    >>> summary = Crawler(on_delete="deprecate").crawl("raw/", database="reviews")  # doctest: +SKIP
    >>> [(c.table, c.action) for c in summary.tables]  # doctest: +SKIP
    [('reviews.reviews', 'added')]
"""

from __future__ import annotations

from sagebox.catalog.crawler.crawler import Crawler
from sagebox.catalog.crawler.summary import CrawlSummary, TableChange

__all__ = ["CrawlSummary", "Crawler", "TableChange"]
