"""``sagebox features``: feature groups, their records, SQL, training sets, feature engineering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sagebox.cli import features_jobs_cmd
from sagebox.cli._frames import read_frame
from sagebox.cli._output import JsonOption, console, print_json, print_table, progress

if TYPE_CHECKING:
    from sagebox.features import FeatureGroup, FeatureStore

app = typer.Typer(
    help="Feature store: feature groups (online and offline), point-in-time training sets.",
    no_args_is_help=True,
)


def _store() -> FeatureStore:
    from sagebox.features import FeatureStore

    return FeatureStore()


def _group(name: str) -> FeatureGroup:
    from sagebox.features import FeatureGroup

    return FeatureGroup(name)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    from sagebox.errors import InputDataError

    out = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise InputDataError(f"bad {what} {value!r}", hint=f"write {what}s as KEY=VALUE")
        out[key] = item
    return out


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Feature group name, e.g. reviews-features."),
    record_id: str = typer.Option(..., "--record-id", help="Feature identifying a record."),
    event_time: str = typer.Option(..., "--event-time", help="Feature with the event time."),
    from_data: str | None = typer.Option(
        None, "--from-data", help="Infer the features from this file or lake location."
    ),
    definitions: Path | None = typer.Option(
        None, "--definitions", help='JSON list of {"name", "type"[, "collection_type", ...]}.'
    ),
    description: str = typer.Option("", "--description", help="Free text (searchable)."),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE label (repeatable)."),
    offline_uri: str | None = typer.Option(None, "--offline-uri", help="Offline store folder."),
    online: bool = typer.Option(True, "--online/--no-online", help="Keep an online store."),
    ttl: str | None = typer.Option(None, "--ttl", help="Online expiry after event time: 7d."),
    json_output: bool = JsonOption,
) -> None:
    """Create a feature group: registry entry, offline store and catalog table."""
    from sagebox.errors import InputDataError
    from sagebox.features import FeatureDefinition

    group = _group(name)
    if (from_data is None) == (definitions is None):
        raise InputDataError(
            "give the features with exactly one of --from-data or --definitions",
            hint="e.g. --from-data features.parquet",
        )
    if from_data is not None:
        group.load_feature_definitions(read_frame(from_data))
    else:
        assert definitions is not None
        try:
            items = json.loads(definitions.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputDataError(f"cannot read {definitions}: {exc}", hint="give JSON") from exc
        if not isinstance(items, list):
            raise InputDataError(f"{definitions} is not a JSON list", hint="give a list")
        group.feature_definitions = [FeatureDefinition.from_dict(d) for d in items]
    record = group.create(
        record_id,
        event_time,
        offline_uri=offline_uri,
        enable_online_store=online,
        ttl=ttl,
        description=description,
        tags=_pairs(tag, "tag"),
    )
    if json_output:
        print_json(record.to_dict())
        return
    console.print(
        f"created feature group [bold]{record.name}[/bold] with {len(record.features)} "
        f"features; offline table {record.table_name}",
        highlight=False,
    )


@app.command("describe")
def describe(
    name: str = typer.Argument(..., help="Feature group name."), json_output: bool = JsonOption
) -> None:
    """Show a feature group's definition."""
    record = _store().describe(name)
    if json_output:
        print_json(record.to_dict())
        return
    data = record.to_dict()
    for key in ("name", "description", "record_identifier_name", "event_time_feature_name"):
        console.print(f"[bold]{key}[/bold]: {data[key]}", highlight=False)
    for key in ("offline_uri", "table_name", "online_enabled", "ttl_seconds", "tags"):
        console.print(f"[bold]{key}[/bold]: {data[key]}", highlight=False)
    rows = [
        {
            "feature": d.name,
            "type": d.type.value,
            "collection": d.collection_type or "",
            "dimension": d.dimension or "",
        }
        for d in record.features
    ]
    print_table(rows, ["feature", "type", "collection", "dimension"], title="features")


def _summary(records: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "features": len(r.features),
            "online": r.online_enabled,
            "table": r.table_name,
            "description": r.description,
            "tags": ",".join(f"{k}={v}" for k, v in r.tags.items()),
        }
        for r in records
    ]


@app.command("list")
def list_groups(json_output: bool = JsonOption) -> None:
    """List feature groups."""
    records = _store().list()
    if json_output:
        print_json([r.to_dict() for r in records])
        return
    print_table(_summary(records), ["name", "features", "online", "table", "description", "tags"])


@app.command("search")
def search(
    text: str = typer.Argument(..., help="Text to look for (case-insensitive)."),
    field: list[str] = typer.Option(
        [], "--field", help="Where: name, description, tag, feature (repeatable; default all)."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Find feature groups by name, description, tag or feature name."""
    from sagebox.backends.metadata import SEARCH_FIELDS

    records = _store().search(text, tuple(field) or SEARCH_FIELDS)
    if json_output:
        print_json([r.to_dict() for r in records])
        return
    print_table(_summary(records), ["name", "features", "online", "table", "description", "tags"])


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="Feature group name."),
    delete_offline_data: bool = typer.Option(
        False, "--delete-offline-data", help="Also delete the offline Parquet data."
    ),
    json_output: bool = JsonOption,
) -> None:
    """Delete a feature group (its offline data stays unless --delete-offline-data)."""
    _group(name).delete(delete_offline_data=delete_offline_data)
    if json_output:
        print_json({"deleted": name})
    else:
        console.print(f"deleted feature group {name}")


@app.command("ingest")
def ingest(
    name: str = typer.Argument(..., help="Feature group name."),
    data: str = typer.Argument(..., help="Local file or lake location of the records."),
    max_workers: int = typer.Option(1, "--max-workers", min=1, help="Parallel writers."),
    batch_size: int = typer.Option(1000, "--batch-size", min=1, help="Records per batch."),
    json_output: bool = JsonOption,
) -> None:
    """Ingest records (every record is checked first; batches are atomic)."""
    frame = read_frame(data)
    group = _group(name)
    with progress(enabled=True) as prog:
        task = prog.add_task(f"ingesting into {name}", total=len(frame))
        result = group.ingest(
            frame,
            max_workers=max_workers,
            batch_size=batch_size,
            on_batch=lambda rows: prog.advance(task, rows),
        )
    if json_output:
        print_json({**result.__dict__, "records_per_second": result.records_per_second})
        return
    console.print(
        f"ingested {result.rows} records in {result.batches} batch(es), "
        f"{result.records_per_second:.0f} records/s: {result.online_written} online, "
        f"{result.online_skipped} older than online (offline only), "
        f"{result.offline_existing} batch(es) already stored"
    )


@app.command("put")
def put(
    name: str = typer.Argument(..., help="Feature group name."),
    record: str = typer.Argument(..., help='The record as JSON: {"review_id": 1, ...}.'),
) -> None:
    """Write one record."""
    from sagebox.errors import InputDataError

    try:
        value = json.loads(record)
    except ValueError as exc:
        raise InputDataError(f"the record is not JSON: {exc}", hint="quote the JSON") from exc
    _group(name).put_record(value)
    console.print("ok")


@app.command("get")
def get(
    name: str = typer.Argument(..., help="Feature group name."),
    record_ids: list[str] = typer.Argument(..., help="Record identifier(s)."),
    feature: list[str] = typer.Option([], "--feature", "-f", help="Only these features."),
    json_output: bool = JsonOption,
) -> None:
    """Read the latest online record(s); exits 1 if one is missing."""
    records = _group(name).batch_get_record(list(record_ids), feature or None)
    if json_output:
        print_json(records[0] if len(records) == 1 else records)
    else:
        for rid, found in zip(record_ids, records, strict=True):
            console.print(f"{rid}: {json.dumps(found)}", highlight=False, soft_wrap=True)
    if any(r is None for r in records):
        raise typer.Exit(1)


@app.command("delete-record")
def delete_record(
    name: str = typer.Argument(..., help="Feature group name."),
    record_id: str = typer.Argument(..., help="Record identifier."),
    event_time: str = typer.Option(..., "--event-time", help="When the record was deleted."),
    hard: bool = typer.Option(False, "--hard", help="Remove it from the online store entirely."),
) -> None:
    """Delete a record (soft by default: a deletion marker online and offline)."""
    from sagebox.features.records import event_time_ns

    group = _group(name)
    record = group.describe()
    definition = record.feature(record.event_time_feature_name)
    value: Any = event_time
    if definition.type.value != "String":
        event_time_ns([event_time], definition)  # names an unparsable value
        value = float(event_time)
    group.delete_record(record_id, value, "HardDelete" if hard else "SoftDelete")
    console.print("deleted")


@app.command("query")
def query(
    name: str = typer.Argument(..., help="Feature group name."),
    sql: str = typer.Argument(..., help="SQL; {table} stands for the group's table."),
    json_output: bool = JsonOption,
) -> None:
    """Run SQL over a group's offline store (its catalog table)."""
    runner = _group(name).athena_query()
    frame = runner.run(sql.replace("{table}", f'"{runner.table_name}"')).as_dataframe()
    if json_output:
        print_json(json.loads(frame.to_json(orient="records")))
        return
    print_table(frame.astype(str).to_dict(orient="records"), list(map(str, frame.columns)))


features_jobs_cmd.register(app)  # training-set and engineer
