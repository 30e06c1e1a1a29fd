"""DebugData and ProfileData: incremental reading of a debug directory."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sagebox.debugger.data import DebugData, parse_mode
from sagebox.profiler.data import ProfileData
from tests.debugger._events_factory import (
    T0,
    summary,
    write_batches,
    write_scalars,
    write_steps,
    write_system,
    write_tensors,
)


def test_empty_directory_has_no_data(tmp_path: Path) -> None:
    data = DebugData(tmp_path / "missing")
    data.refresh()
    assert data.scalars("loss") == []
    assert data.scalar_names() == []
    assert data.tensors("gradient") == {}
    assert data.batches() == []
    assert data.last_step() is None and data.last_event_time() is None
    profile = ProfileData(tmp_path / "missing")
    profile.refresh()
    assert profile.system() == [] and profile.step_durations() == []
    assert not profile.has_gpu and profile.cores == 0


def test_scalars_by_mode_and_whole_name(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(0, 1.0), (10, 0.8)], name="loss")
    write_scalars(tmp_path, [(10, 0.9)], name="loss", mode="eval")
    write_scalars(tmp_path, [(0, 0.5)], name="val_loss", mode="eval")
    write_scalars(tmp_path, [(0, 1e-3)], name="lr")
    data = DebugData(tmp_path)
    data.refresh()
    assert data.scalars("loss") == [(0, 1.0), (10, 0.8)]
    assert data.scalars("loss", mode="EVAL") == [(10, 0.9)]
    assert data.scalars(".*loss", mode="eval") == [(0, 0.5), (10, 0.9)]
    assert sorted(data.scalars("loss", mode=None)) == [(0, 1.0), (10, 0.8), (10, 0.9)]
    assert data.scalars("loss", mode="GLOBAL") == data.scalars("loss", mode=None)
    assert data.scalar_names() == ["loss", "lr", "val_loss"]
    assert data.scalar_names("eval") == ["loss", "val_loss"]
    assert data.scalar_series(".*loss", "eval") == {"loss": [(10, 0.9)], "val_loss": [(0, 0.5)]}
    assert data.last_step() == 10
    assert data.last_event_time() == T0 + 1


def test_nan_and_out_of_order_steps(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(20, float("nan")), (10, 0.5), (30, float("inf"))])
    data = DebugData(tmp_path)
    data.refresh()
    points = data.scalars("loss")
    assert [step for step, _ in points] == [10, 20, 30]
    assert math.isnan(points[1][1]) and math.isinf(points[2][1])


def test_only_the_first_host_is_read(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(0, 9.0)], host="algo-2")
    data = DebugData(tmp_path)
    data.refresh()
    assert data.scalars("loss") == [(0, 9.0)]  # the only host so far
    write_scalars(tmp_path, [(0, 1.0)], host="algo-1")
    data.refresh()
    assert data.host == "algo-1"
    assert data.scalars("loss") == [(0, 1.0)]


def test_tensors_and_batches(tmp_path: Path) -> None:
    write_tensors(
        tmp_path,
        [
            summary(50, "fc.weight", "gradient"),
            summary(0, "fc.weight", "gradient"),
            summary(0, "fc.bias", "gradient"),
            summary(0, "fc.weight", "weight"),
        ],
    )
    write_batches(tmp_path, [(10, [0, 1], [0, 0]), (0, [1], [1])])
    write_batches(tmp_path, [(5, [1], [0])], mode="eval")
    data = DebugData(tmp_path)
    data.refresh()
    gradients = data.tensors("gradient")
    assert sorted(gradients) == ["fc.bias", "fc.weight"]
    assert [s["step"] for s in gradients["fc.weight"]] == [0, 50]
    assert list(data.tensors("gradient", r".*\.bias")) == ["fc.bias"]
    assert data.tensor_kinds() == ["gradient", "weight"]
    assert [b["step"] for b in data.batches()] == [0, 10]
    assert [b["step"] for b in data.batches("eval")] == [5]
    assert [b["step"] for b in data.batches(None)] == [0, 5, 10]


def test_refresh_reads_only_new_events(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(0, 1.0), (10, 0.9)])
    data = DebugData(tmp_path)
    data.refresh()
    data.refresh()
    assert data.scalars("loss") == [(0, 1.0), (10, 0.9)]
    write_scalars(tmp_path, [(20, 0.8)])
    write_tensors(tmp_path, [summary(20, "w", "weight")])
    data.refresh()
    assert data.scalars("loss") == [(0, 1.0), (10, 0.9), (20, 0.8)]
    assert list(data.tensors("weight")) == ["w"]
    assert data.last_step() == 20


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    write_scalars(tmp_path, [(0, 1.0)])
    path = tmp_path / "scalars" / "algo-1.jsonl"
    line = json.dumps({"step": 10, "mode": "train", "name": "loss", "value": 0.5})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line[:15])
    data = DebugData(tmp_path)
    data.refresh()
    assert data.scalars("loss") == [(0, 1.0)]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line[15:] + "\n")
    data.refresh()
    assert data.scalars("loss") == [(0, 1.0), (10, 0.5)]


def test_started_comes_from_meta_json(tmp_path: Path) -> None:
    data = DebugData(tmp_path)
    data.refresh()
    assert data.started == pytest.approx(data.now(), abs=60)
    (tmp_path / "meta.json").write_text(json.dumps({"job": "j", "started": 123.0}))
    data.refresh()
    assert data.started == 123.0


@pytest.mark.parametrize(
    ("given", "stored"),
    [("TRAIN", "train"), (None, "train"), ("EVAL", "eval"), ("validation", "eval")],
)
def test_parse_mode(given: str | None, stored: str) -> None:
    assert parse_mode(given) == stored


def test_profile_data_reads_system_of_all_hosts_and_steps_of_the_first(tmp_path: Path) -> None:
    write_system(tmp_path, [10.0, 20.0], host="algo-2", cores=4)
    write_system(tmp_path, [30.0, 40.0, 50.0], gpu_utils=[5.0, 6.0, 7.0], host="algo-1")
    write_steps(tmp_path, [1.0, 2.0], data_share=0.5, host="algo-1")
    write_steps(tmp_path, [9.0], host="algo-2")
    data = ProfileData(tmp_path)
    data.refresh()
    system = data.system()
    assert len(system) == 5
    assert [s["time"] for s in system] == sorted(s["time"] for s in system)
    assert {s["host"] for s in system} == {"algo-1", "algo-2"}
    assert data.has_gpu and data.cores == 4
    assert data.step_durations() == [(0, 1.0), (1, 2.0)]
    assert [e["step"] for e in data.phases("data")] == [0, 1]
    parts = data.step_phases()
    assert parts[1]["data"] == pytest.approx(1.0) and parts[1]["span"] == pytest.approx(2.0)
    write_steps(tmp_path, [3.0], host="algo-1", t0=T0 + 10, first_step=2)
    data.refresh()
    assert data.step_durations() == [(0, 1.0), (1, 2.0), (2, 3.0)]
