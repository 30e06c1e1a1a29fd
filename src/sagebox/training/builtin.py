"""The built-in algorithms' "container": ``python -m sagebox.training.builtin``.

Like a SageMaker built-in algorithm image, it reads everything from the script-mode
environment (``SM_CHANNEL_*``, ``SM_HPS``, ``SM_MODEL_DIR``, ``SM_CHECKPOINT_DIR``) plus
``SAGEBOX_ALGORITHM``, trains, prints ``metric NAME=VALUE step=N`` lines (captured by the job),
scores the ``validation`` and ``test`` channels, and saves the model with its manifest into
``SM_MODEL_DIR``. Under torch.distributed only rank 0 scores and saves. User errors end the
process with ``error: ...`` / ``hint: ...`` lines and exit status 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]

_TRAIN_SCORE_LIMIT = 2000


def _report(clf: Any, data: Any, prefix: str) -> dict[str, Any]:
    from sagebox.algorithms.base import print_metric
    from sagebox.datasets import LABELS
    from sagebox.evaluation import classification_report

    predicted = clf.predict(data.inputs)
    report = classification_report(data.labels.tolist(), predicted.tolist(), labels=list(LABELS))
    for name in ("accuracy", "macro_f1"):
        print_metric(f"{prefix}:{name}", report[name])
    return report


def _ask_for_sync(path: Path) -> None:
    """Ask the job process to copy the new checkpoint to the lake now (SIGUSR1)."""
    import contextlib
    import signal

    parent = int(os.environ.get("SAGEBOX_JOB_PID", "0"))
    if parent > 1:
        with contextlib.suppress(ProcessLookupError):
            os.kill(parent, signal.SIGUSR1)


def train_builtin() -> None:
    """Train the algorithm named by ``SAGEBOX_ALGORITHM`` on the SM_* channels."""
    from sagebox.algorithms import get_algorithm
    from sagebox.algorithms.base import FitContext
    from sagebox.algorithms.text_transformer import PRECISION_ENV
    from sagebox.datasets import LABEL_NAMES, LABELS
    from sagebox.models.package import MANIFEST_NAME, build_manifest
    from sagebox.training.channels import read_channel

    # The job's own validation and test scores are float32 like its per-epoch validation, so
    # that they do not depend on the CPU it ran on; the saved model keeps its own
    # inference_precision for serving. A job environment that sets the variable wins.
    os.environ.setdefault(PRECISION_ENV, "float32")

    algorithm = os.environ["SAGEBOX_ALGORITHM"]
    cls = get_algorithm(algorithm)
    clf = cls.from_hyperparameters(json.loads(os.environ.get("SM_HPS", "{}")))
    channels = json.loads(os.environ.get("SM_CHANNELS", "[]"))
    data = {
        name: read_channel(
            Path(os.environ[f"SM_CHANNEL_{name.upper()}"]), name, LABELS, cls.accepts_tabular
        )
        for name in channels
        if name in ("train", "validation", "test")
    }
    train = data["train"]
    validation = data.get("validation")
    checkpoint_dir = os.environ.get("SM_CHECKPOINT_DIR")
    context = FitContext(
        validation=None if validation is None else (validation.inputs, validation.labels.tolist()),
        checkpoint_dir=Path(checkpoint_dir) if checkpoint_dir else None,
        on_checkpoint=_ask_for_sync,
    )
    print(f"training {algorithm} on {len(train)} examples", flush=True)
    clf.fit(train.inputs, train.labels.tolist(), context)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    sample = train
    if len(train) > _TRAIN_SCORE_LIMIT:
        sample = type(train)(
            labels=train.labels[:_TRAIN_SCORE_LIMIT],
            texts=None if train.texts is None else train.texts[:_TRAIN_SCORE_LIMIT],
            rows=None if train.rows is None else train.rows[:_TRAIN_SCORE_LIMIT],
        )
    _report(clf, sample, "train")
    reports = {
        name: _report(clf, data[name], name) for name in ("validation", "test") if name in data
    }
    model_dir = Path(os.environ["SM_MODEL_DIR"])
    clf.save(model_dir)
    training_env = json.loads(os.environ.get("SM_TRAINING_ENV", "{}"))
    manifest = build_manifest(
        algorithm,
        list(LABELS),
        dict(LABEL_NAMES),
        extra={
            "hyperparameters": clf.get_params(),
            "training_job": training_env.get("job_name"),
            "input": "tabular" if train.texts is None else "text",
            "metrics": {
                f"{name}:{key}": report[key]
                for name, report in reports.items()
                for key in ("accuracy", "macro_f1")
            },
        },
    )
    (model_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def main() -> int:
    """Run :func:`train_builtin`; print user errors as ``error:``/``hint:`` lines."""
    from sagebox.errors import SageboxError

    try:
        train_builtin()
    except SageboxError as exc:
        print(f"error: {exc.message}", flush=True)
        if exc.hint:
            print(f"hint: {exc.hint}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
