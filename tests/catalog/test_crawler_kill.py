"""A crawler killed with -9 at any point leaves the catalog as it was or as the whole crawl made it.

Issue 15 defect 11: a crawler killed mid-run left part of its tables in the catalog (5 of 16
tries). The crawl now stages its changes and commits them in one transaction.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from sagebox import lake
from sagebox.session import Session

pytestmark = pytest.mark.slow

TRIES = 10
DATASETS = 24


def _write_datasets(session: Session, first: int, last: int) -> None:
    frame = pd.DataFrame({"id": range(40), "text": [f"row {i}" for i in range(40)]})
    for n in range(first, last):
        for part in ("a", "b", "c"):
            lake.to_csv(frame, f"raw/set{n:02d}/part={part}/data.csv", session=session)


def _snapshot(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The catalog of ``home``'s metadata database, without crawl timestamps."""
    monkeypatch.setenv("SAGEBOX_HOME", str(home))
    catalog = Session().catalog
    tables = {}
    for table in catalog.list_tables():
        parts = sorted(
            tuple(str(v) for v in p.values)
            for p in catalog.list_partitions(table.database, table.name)
        )
        tables[table.full_name] = (
            [(c.name, c.type) for c in table.columns],
            table.location,
            table.parameters.get("deprecated"),
            parts,
        )
    catalog.close()
    return tables


def _crawl(home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SAGEBOX_HOME": str(home)}
    return subprocess.Popen(
        [sys.executable, "-m", "sagebox", "crawl", "raw/", "--database", "db", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _runner(cli: subprocess.Popen[bytes], deadline: float) -> psutil.Process | None:
    """The crawler job's runner process, once the CLI has started it (None if it ended)."""
    parent = psutil.Process(cli.pid)
    while time.monotonic() < deadline:
        try:
            for child in parent.children(recursive=True):
                if "sagebox.jobs.runner" in " ".join(child.cmdline()):
                    return child
        except psutil.NoSuchProcess:
            pass
        if cli.poll() is not None:
            return None
    raise AssertionError("the crawler job's runner did not start")


def _kill_tree(cli: subprocess.Popen[bytes], runner: psutil.Process | None) -> None:
    victims = [runner] if runner is not None else []
    with contextlib.suppress(psutil.NoSuchProcess):
        victims += psutil.Process(cli.pid).children(recursive=True)
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    cli.kill()
    cli.wait()


def test_killed_crawler_leaves_previous_or_complete_catalog(
    sagebox_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one lake for every try (table locations name it); a metadata database per try
    monkeypatch.setenv("SAGEBOX_STORAGE_URI", (tmp_path / "lake").as_uri())
    session = Session()
    _write_datasets(session, 0, DATASETS // 2)
    first = subprocess.run(
        [sys.executable, "-m", "sagebox", "crawl", "raw/", "--database", "db", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert first.returncode == 0, first.stderr
    _write_datasets(session, DATASETS // 2, DATASETS)  # the crawl under test adds these
    session.catalog.close()
    base = tmp_path / "base"
    shutil.copytree(sagebox_env, base)
    previous = _snapshot(base, monkeypatch)
    assert len(previous) == DATASETS // 2

    reference = tmp_path / "reference"
    shutil.copytree(base, reference)
    cli = _crawl(reference)
    runner = _runner(cli, time.monotonic() + 120)
    assert runner is not None
    started = runner.create_time()
    assert cli.wait(timeout=300) == 0
    lifetime = time.time() - started  # an upper bound of the runner's life
    complete = _snapshot(reference, monkeypatch)
    assert len(complete) == DATASETS and complete != previous

    outcomes = []
    for attempt in range(TRIES):
        home = tmp_path / f"try{attempt}"
        shutil.copytree(base, home)
        monkeypatch.setenv("SAGEBOX_HOME", str(home))
        watcher = Session().catalog
        cli = _crawl(home)
        runner = _runner(cli, time.monotonic() + 120)
        if runner is not None and attempt % 2 == 0:
            # kill point: the moment the crawl's first change to the catalog becomes visible
            deadline = time.monotonic() + 300
            while runner.is_running() and time.monotonic() < deadline:
                if len(watcher.list_tables()) != len(previous):
                    break
        elif runner is not None:
            # kill point: a fraction of the runner's life, from its imports to its last write
            with contextlib.suppress(psutil.TimeoutExpired):
                runner.wait(timeout=lifetime * (attempt + 1) / TRIES)
        _kill_tree(cli, runner)
        watcher.close()
        state = _snapshot(home, monkeypatch)
        outcome = "previous" if state == previous else "complete" if state == complete else "part"
        outcomes.append(outcome)
    report = {o: outcomes.count(o) for o in set(outcomes)}
    print(json.dumps({"kills": TRIES, "outcomes": report}))
    assert "part" not in outcomes, f"{outcomes.count('part')} of {TRIES} kills left a part"
