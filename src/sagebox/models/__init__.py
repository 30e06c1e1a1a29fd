"""Packaged models: archives with a manifest and inference code, registered by name.

The low layer for packaged models: :func:`load_handler` and :class:`HookModel` load a package
behind its four inference hooks (defaults in :mod:`sagebox.models.handler`), and
:mod:`sagebox.models.edge` exports one to ONNX for edge devices.
"""

from __future__ import annotations

from sagebox.models.client import ModelClient
from sagebox.models.hooks import HookModel, load_handler
from sagebox.models.package import build_manifest, pack_model_dir, read_manifest, unpack_model

__all__ = [
    "HookModel",
    "ModelClient",
    "build_manifest",
    "load_handler",
    "pack_model_dir",
    "read_manifest",
    "unpack_model",
]
