"""Model packages: ``model.tar.gz`` = model files + ``manifest.json`` + ``code/inference.py``.

The manifest states what the model takes and returns and what it needs to run, so that any
endpoint (or a user) can load it without knowing how it was trained.
"""

from __future__ import annotations

import json
import platform
import shutil
import tarfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from sagebox.errors import InputDataError

__all__ = ["MANIFEST_NAME", "build_manifest", "pack_model_dir", "read_manifest", "unpack_model"]

MANIFEST_NAME = "manifest.json"
_INFERENCE_TEMPLATE = Path(__file__).with_name("inference_template.py")


def build_manifest(
    algorithm: str, labels: list[int], label_names: dict[int, str], extra: dict[str, Any]
) -> dict[str, Any]:
    """The manifest of a built-in text classifier."""
    return {
        "format_version": 1,
        "algorithm": algorithm,
        "labels": labels,
        "label_names": {str(k): v for k, v in label_names.items()},
        "signature": {
            "inputs": [{"name": "review_body", "type": "string"}],
            "outputs": [
                {"name": "label", "type": "integer", "values": labels},
                {"name": "probabilities", "type": "object", "keys": [str(x) for x in labels]},
            ],
        },
        "content_types": {
            "request": ["application/json", "application/jsonlines", "text/csv", "text/plain"],
            "response": ["application/json", "application/jsonlines"],
        },
        "environment": {
            "python": platform.python_version(),
            "requires": _requirements(["sagebox", "scikit-learn", "numpy", "skops"]),
        },
        "entry_point": "code/inference.py",
        **extra,
    }


def pack_model_dir(model_dir: Path, manifest: dict[str, Any], out_path: Path) -> Path:
    """Write manifest and inference code into ``model_dir``, then tar it to ``out_path``."""
    (model_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    code_dir = model_dir / "code"
    code_dir.mkdir(exist_ok=True)
    shutil.copyfile(_INFERENCE_TEMPLATE, code_dir / "inference.py")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for item in sorted(model_dir.iterdir()):
            tar.add(item, arcname=item.name)
    tmp.replace(out_path)
    return out_path


def unpack_model(archive: Path, dest: Path) -> Path:
    """Extract a model package into ``dest``; return ``dest``.

    Raises:
        InputDataError: if the archive is not a model package (no manifest).
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InputDataError(
            f"{archive} is not a readable model.tar.gz: {exc}", hint="re-run the training job"
        ) from exc
    read_manifest(dest)
    return dest


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """The manifest of an unpacked model. Raises InputDataError if missing."""
    path = model_dir / MANIFEST_NAME
    if not path.is_file():
        raise InputDataError(
            f"{model_dir} has no {MANIFEST_NAME}", hint="package the model with sagebox"
        )
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _requirements(names: list[str]) -> list[str]:
    found = []
    for name in names:
        try:
            found.append(f"{name}=={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return found
