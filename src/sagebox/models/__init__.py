"""Packaged models: archives with a manifest and inference code, registered by name.

The low layer for packaged models: :func:`load_handler` and :class:`HookModel` load a package
behind its four inference hooks (defaults in :mod:`sagebox.models.handler`),
:func:`fetch_verified` downloads a registered package and unpacks it only if its SHA-256 is
the recorded one (every loader goes through it), and :mod:`sagebox.models.edge` exports one
to ONNX for edge devices.
"""

from __future__ import annotations

from sagebox.models.artifacts import fetch_verified, fetch_verified_uri, sha256_file
from sagebox.models.client import ModelClient
from sagebox.models.hooks import HookModel, load_handler
from sagebox.models.package import build_manifest, pack_model_dir, read_manifest, unpack_model

__all__ = [
    "HookModel",
    "ModelClient",
    "build_manifest",
    "fetch_verified",
    "fetch_verified_uri",
    "load_handler",
    "pack_model_dir",
    "read_manifest",
    "sha256_file",
    "unpack_model",
]
