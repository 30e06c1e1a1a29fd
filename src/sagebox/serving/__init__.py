"""Serving: the inference handler, the endpoint app and local endpoints."""

from __future__ import annotations

from sagebox.serving.endpoints import EndpointClient

__all__ = ["EndpointClient"]
