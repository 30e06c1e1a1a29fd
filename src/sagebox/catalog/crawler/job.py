"""The ``crawler`` job kind: a crawl that runs as a job, with its summary as an output."""

from __future__ import annotations

import json
from dataclasses import asdict

from sagebox.catalog.crawler.crawler import Crawler
from sagebox.jobs.context import JobContext

__all__ = ["run_crawler_job"]


def run_crawler_job(ctx: JobContext) -> None:
    """Crawl ``parameters["uri"]`` into ``parameters["database"]``.

    Other parameters: ``schema_change``, ``on_delete``, ``recrawl``, ``sample_files``,
    ``sample_rows``, ``table_prefix`` (as :class:`Crawler` takes them). Output ``summary``: the
    :class:`~sagebox.catalog.crawler.CrawlSummary` as JSON; metrics: tables per action.
    """
    params = dict(ctx.parameters)
    options = {
        key: params[key]
        for key in (
            "schema_change",
            "on_delete",
            "recrawl",
            "sample_files",
            "sample_rows",
            "table_prefix",
        )
        if key in params
    }
    crawler = Crawler(ctx.session, **options)
    ctx.log(f"crawling {params['uri']} into database {params['database']}")
    summary = crawler.crawl(str(params["uri"]), str(params["database"]))
    for change in summary.tables:
        detail = []
        if change.columns_added and change.action != "added":
            detail.append(f"new columns {', '.join(change.columns_added)}")
        if change.types_changed:
            detail.append(f"types {change.types_changed}")
        if change.partitions_added:
            detail.append(f"+{change.partitions_added} partitions")
        ctx.log(f"  {change.action:<10} {change.table}  {'; '.join(detail)}")
        for note in change.notes:
            ctx.log(f"             note: {note}")
    for warning in summary.warnings:
        ctx.log(f"  warning: {warning}")
    for name, value in summary.counts().items():
        ctx.log_metric(f"tables_{name}" if name != "partitions_added" else name, value)
    ctx.log_metric("files", summary.files)
    local = ctx.workdir / "crawl-summary.json"
    local.write_text(json.dumps(asdict(summary), indent=1), encoding="utf-8")
    ctx.put_output("summary", local, ctx.output_key("crawl-summary.json"), kind="crawl-summary")
