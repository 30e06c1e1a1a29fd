"""Processing jobs: data preparation that runs as jobs on the compute backend.

- :class:`Processor` runs a script or a Python function over lake inputs on N workers
  (SageMaker Processing), with :class:`ProcessingInput` and :class:`ProcessingOutput`;
- the ``prepare-reviews`` job prepares the raw reviews (labels, balance, split);
- the ``review-features`` job also tokenizes them for BERT-family models, sharded across
  workers, and can ingest them into a feature group.

Public names are imported lazily so that ``import sagebox.processing`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sagebox.processing.processor import Processor
    from sagebox.processing.spec import ProcessingEnvironment, ProcessingInput, ProcessingOutput

__all__ = ["ProcessingEnvironment", "ProcessingInput", "ProcessingOutput", "Processor"]

_LAZY = {
    "Processor": "sagebox.processing.processor",
    "ProcessingEnvironment": "sagebox.processing.spec",
    "ProcessingInput": "sagebox.processing.spec",
    "ProcessingOutput": "sagebox.processing.spec",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sagebox.processing' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
