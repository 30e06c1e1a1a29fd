"""Serving: real-time endpoints with variants, deployments and autoscaling, and batch transform.

The public face is small: :class:`EndpointClient` (create, update, invoke and delete
endpoints), :class:`TransformClient` (batch transform jobs), the config models of
:mod:`sagebox.serving.config`, :func:`serve` (what ``sagebox serve`` runs in the foreground)
and :func:`create_app` (one model as a FastAPI app, for notebooks and tests). The rest lives
in private sub-packages named after the process that runs it:

- ``_client/``: the user's process (the endpoint and transform clients, the admin client);
- ``_control/``: the ``sagebox serve`` process (supervisor, gateway, routing, deployments,
  autoscaling, data capture, metrics);
- ``_worker/``: a model worker process (hooks, batching, multi-model cache, inference
  pipelines);
- ``_transform/``: a ``batch-transform`` job in the job runner;
- ``_http/``: the HTTP plumbing the server and worker processes share.

The public names (listed in ``__init__.pyi``) are imported lazily so that
``import sagebox.serving`` stays light.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
