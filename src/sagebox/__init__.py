"""sagebox: SageMaker's machine-learning workflow on one laptop, scaling out when needed.

The public API speaks SageMaker's nouns and is imported lazily (the names are listed in
``__init__.pyi``), so that ``import sagebox`` stays fast::

    import sagebox

    session = sagebox.Session()
    estimator = sagebox.Estimator(algorithm="linear-text", session=session)
    job = estimator.fit({"train": "datasets/reviews/train.csv"})
    sagebox.ModelClient(session).create("reviews-model", training_job=job.name)

Each capability has its own package with more (``sagebox.clarify``, ``sagebox.debugger``,
``sagebox.lake``, ``sagebox.testing``, ...).
"""

from __future__ import annotations

import lazy_loader

# The public names live in __init__.pyi; they are imported on first use.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
