"""Processing jobs: data preparation that runs as jobs on the compute backend.

- :class:`Processor` runs a script or a Python function over lake inputs on N workers
  (SageMaker Processing), with :class:`ProcessingInput` and :class:`ProcessingOutput`;
- the ``prepare-reviews`` job prepares the raw reviews (labels, balance, split);
- the ``review-features`` job also tokenizes them for BERT-family models, sharded across
  workers, and can ingest them into a feature group.

Public names are imported lazily (see ``__init__.pyi``) so that ``import sagebox.processing``
stays light.
"""

from __future__ import annotations

import lazy_loader

# The public names live in __init__.pyi; they are imported on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
