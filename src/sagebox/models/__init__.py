"""Packaged models: archives with a manifest and inference code, registered by name."""

from __future__ import annotations

from sagebox.models.client import ModelClient
from sagebox.models.package import build_manifest, pack_model_dir, read_manifest, unpack_model

__all__ = ["ModelClient", "build_manifest", "pack_model_dir", "read_manifest", "unpack_model"]
