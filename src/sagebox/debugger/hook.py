"""The debugger hook: what a PyTorch training run saves for the debugger rules and the profiler.

Two lines in a training script (a no-op outside a sagebox training job)::

    from sagebox.debugger import Hook

    hook = Hook.create_from_env()  # None unless SAGEBOX_DEBUG_DIR is set
    if hook:
        hook.register_module(model)
        hook.register_optimizer(optimizer)  # optional: learning rate and optimizer timings

What is saved (the event streams of :mod:`sagebox.debugger.events`):

- ``scalars``: every :meth:`Hook.record_scalar` call; the loss of a module given to
  :meth:`Hook.register_loss` and the optimizer's learning rate every ``save_interval`` steps.
- ``tensors`` every ``tensor_interval`` steps: per parameter a weight summary (before the
  update) and a gradient summary (at the end of the backward pass, before any clipping), and
  per ReLU-family or GELU layer a summary of its output (kind ``activation``, name
  ``<module path>.output``, with ``dead_fraction``: the share of units positive for no row)
  and of its input (``activation_input``, ``<module path>.input``).
- ``batches`` every ``save_interval`` steps: labels and arg-max predictions from
  :meth:`Hook.record_batch`.
- ``framework`` (``framework_profile``): per step, with the batch size (the first dimension
  of the forward's first tensor): ``forward`` (the registered module's forward), ``backward``
  (end of the forward to the optimizer's start, or without an optimizer to the end of the
  backward pass), ``optimizer`` (``optimizer.step()``), ``data`` (end of the previous step to
  this forward; absent after an evaluation) and ``step`` (start of ``data``, or of the
  forward, to the step's end).

A step between tensor steps costs a few Python calls and five short lines of JSON (well under
a millisecond); a tensor step a few passes over every weight, gradient and activation (weights
that did not change since, such as frozen ones, are not summarised again).

**What a step is.** A training step starts with a forward pass of the registered module in
train mode with gradients enabled. With an optimizer registered, it ends when
``optimizer.step()`` returns, so several forwards before one optimizer step (gradient
accumulation) are one step; without one, every such forward starts a new step. Forwards in
eval mode, under ``torch.no_grad()``/``inference_mode()`` or after ``set_mode("eval")`` are
not steps: they switch the hook to ``eval`` mode, whose scalars are saved at the current
global step. Steps are numbered from 0.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sagebox.debugger._hook_config import COLLECTIONS, HookConfig
from sagebox.debugger._hook_inputs import batch_size, grad_outputs, to_float, to_labels
from sagebox.debugger._hook_stats import decode_stats, is_activation, tensor_stats
from sagebox.debugger.events import EventWriter
from sagebox.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["COLLECTIONS", "ENV_CONFIG", "ENV_DIR", "Hook", "HookConfig"]

log = logging.getLogger(__name__)

#: environment variables read by :meth:`Hook.create_from_env`
ENV_DIR = "SAGEBOX_DEBUG_DIR"
ENV_CONFIG = "SAGEBOX_DEBUGGER_CONFIG"
_MODES = ("train", "eval")

_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(method: _F) -> _F:
    """Run a torch callback so that a failure of the hook never breaks the training."""

    @functools.wraps(method)
    def wrapper(self: Hook, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception:  # the training matters more than its debug data
            if not self._warned:
                self._warned = True
                log.warning(
                    "debugger hook: %s failed; data may be missing", method.__name__, exc_info=True
                )
            return None

    return wrapper  # type: ignore[return-value]


class Hook:
    """Saves scalars, tensor summaries, sampled batches and phase timings of a PyTorch run.

    Args:
        out_dir: the debug directory (event files go to ``<out_dir>/<stream>/<host>.jsonl``).
        host: this machine's name in a training job (``SM_CURRENT_HOST``).
        config: what to save and how often.
        job: the training job's name, for ``meta.json``.

    Example:
        >>> hook = Hook(tmp_path / "debug", config=HookConfig(save_interval=1))
        >>> hook.register_module(model)  # doctest: +SKIP
        >>> hook.record_scalar("accuracy", 0.9, mode="eval")
        >>> hook.close()
    """

    def __init__(
        self,
        out_dir: str | Path,
        host: str = "algo-1",
        config: HookConfig | None = None,
        *,
        job: str | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.config = config or HookConfig()
        self._collections = frozenset(self.config.collections)
        self._tensor_kinds = self._collections & {"weights", "gradients", "activations"}
        self._writers: dict[str, EventWriter] = {}
        self._writer_lock = threading.Lock()
        self._warned = False
        self._closed = False
        # step state
        self._step = 0
        self._next_step = 0
        self._in_step = False
        self._in_forward = False
        self._tensor_step = False
        self._mode = "train"
        self._pinned_eval = False
        self._loss_saved_at = -1
        self._eval_losses: dict[str, list[float]] = {}
        # timings of the current step (time.time()); None where not (yet) seen
        self._t_prev_end: float | None = None
        self._t_data: float | None = None
        self._t_fwd: float | None = None
        self._t_fwd_end: float | None = None
        self._t_grad: float | None = None
        self._t_opt: float | None = None
        self._batch_size: int | None = None
        # torch objects
        self._module: torch.nn.Module | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._params: list[tuple[str, torch.nn.Parameter]] = []
        self._activations: list[tuple[str, torch.nn.Module]] = []
        self._handles: list[Any] = []
        self._step_handles: list[Any] = []
        self._buffer: dict[tuple[str, str], torch.Tensor] = {}
        self._weight_stats: dict[str, tuple[int, torch.Tensor | None]] = {}
        self._backward_queued = False
        self._grads_saved = False
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._write_meta(job)
        atexit.register(self.close)

    # ----------------------------------------------------------------------------- creation
    @classmethod
    def create_from_env(cls) -> Hook | None:
        """The hook of the training job this process runs in, or None outside one.

        Reads ``SAGEBOX_DEBUG_DIR`` (unset: None), ``SAGEBOX_DEBUGGER_CONFIG`` (a
        :class:`HookConfig` as JSON) and ``SM_CURRENT_HOST``. Only one process per host
        (``LOCAL_RANK`` 0) gets a hook.

        Raises:
            ConfigError: if ``SAGEBOX_DEBUGGER_CONFIG`` is not a valid configuration.
        """
        root = os.environ.get(ENV_DIR)
        if not root:
            return None
        if os.environ.get("LOCAL_RANK", "0").strip() not in ("", "0"):
            return None
        config = HookConfig.from_json(os.environ.get(ENV_CONFIG))
        host = os.environ.get("SM_CURRENT_HOST") or "algo-1"
        job = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            job = json.loads(os.environ.get("SM_TRAINING_ENV", "{}")).get("job_name")
        return cls(root, host, config, job=job)

    def _write_meta(self, job: str | None) -> None:
        path = self.out_dir / "meta.json"
        meta: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            meta = loaded if isinstance(loaded, dict) else {}
        if meta.get("hook") == self.config.to_json():
            return
        meta.setdefault("job", job)
        meta.setdefault("started", time.time())
        meta["hook"] = self.config.to_json()
        tmp = path.with_name(f".meta.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        os.replace(tmp, path)

    # ------------------------------------------------------------------------- registration
    def register_module(self, module: torch.nn.Module) -> None:
        """Watch ``module`` (the whole model): its forwards delimit steps, its parameters and
        activation layers are summarised.

        Registering another module replaces the previous one.
        """
        if self._closed:
            return
        self._handles = [h for h in self._handles if not _remove_if(h, "module")]
        self._module = module
        self._params = list(module.named_parameters())
        self._weight_stats = {}
        self._activations = [
            (name, m) for name, m in module.named_modules() if name and is_activation(m)
        ]
        self._add_handle(
            module.register_forward_pre_hook(self._on_forward_pre, with_kwargs=True), "module"
        )
        self._add_handle(module.register_forward_hook(self._on_forward_post), "module")

    def register_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Watch ``optimizer``: its ``step()`` ends a training step, its learning rate is
        saved every ``save_interval`` steps and its time is the ``optimizer`` phase."""
        if self._closed:
            return
        self._handles = [h for h in self._handles if not _remove_if(h, "optimizer")]
        self._optimizer = optimizer
        self._add_handle(optimizer.register_step_pre_hook(self._on_optimizer_pre), "optimizer")
        self._add_handle(optimizer.register_step_post_hook(self._on_optimizer_post), "optimizer")

    def register_loss(self, loss_module: torch.nn.Module) -> None:
        """Save the output of ``loss_module`` (e.g. ``nn.CrossEntropyLoss()``) as scalar
        ``loss``: every ``save_interval`` steps in train mode, and its mean over each
        evaluation (saved when training resumes or the hook closes) in eval mode."""
        if self._closed:
            return
        self._add_handle(loss_module.register_forward_hook(self._on_loss), "loss")

    def _add_handle(self, handle: Any, kind: str) -> None:
        handle._sagebox_kind = kind
        self._handles.append(handle)

    # ------------------------------------------------------------------------------ state
    @property
    def step(self) -> int:
        """The global step: the index of the current (or last) training step, from 0."""
        return self._step

    @property
    def mode(self) -> str:
        """``train`` or ``eval``: set by :meth:`set_mode` or by the last forward."""
        return "eval" if self._pinned_eval else self._mode

    @property
    def is_save_step(self) -> bool:
        """Whether the current step is one whose scalars and batches are saved."""
        return self._step % self.config.save_interval == 0

    def set_step(self, steps_done: int) -> None:
        """Continue from ``steps_done`` trained steps (after resuming from a checkpoint): the
        next training step is step ``steps_done``."""
        self._next_step = max(0, int(steps_done))
        self._step = max(0, self._next_step - 1)

    def set_mode(self, mode: str) -> None:
        """Say that what follows is training (``train``) or validation (``eval``).

        In ``eval`` mode no forward counts as a training step, whatever the module's mode.

        Raises:
            ConfigError: on another mode.
        """
        mode = _check_mode(mode)
        if mode == "eval":
            if self._optimizer is None:
                self._end_step()
            self._pinned_eval = True
            self._mode = "eval"
            self._t_prev_end = None
        else:
            self._pinned_eval = False
            self._mode = "train"
            self._flush_eval_losses()

    # ----------------------------------------------------------------------------- records
    def record_scalar(self, name: str, value: Any, mode: str | None = None) -> None:
        """Save scalar ``name`` at the current step, at every call.

        Dropped only if its collection is not saved: ``losses`` for a name containing
        "loss", else ``metrics``.

        Args:
            name: e.g. ``loss`` or ``accuracy``; the same name in train and eval mode lets
                rules such as Overfit compare the two.
            value: a number or a one-element tensor.
            mode: ``train`` or ``eval`` (default: the hook's current :attr:`mode`).

        Raises:
            ConfigError: on a mode other than train or eval.
        """
        mode = _check_mode(mode or self.mode)
        if self._closed:
            return
        collection = "losses" if "loss" in name.lower() else "metrics"
        if collection not in self._collections:
            return
        self._write(
            "scalars", {"step": self._step, "mode": mode, "name": name, "value": to_float(value)}
        )

    def record_batch(self, labels: Any, predictions: Any, mode: str | None = None) -> None:
        """Save a batch's labels and predictions (logits or probabilities: arg-max per row;
        class indices: as given), every ``save_interval`` steps in train mode and always in
        eval mode.

        Raises:
            ConfigError: on a mode other than train or eval.
        """
        mode = _check_mode(mode or self.mode)
        if self._closed or "batches" not in self._collections:
            return
        if mode == "train" and not self.is_save_step:
            return
        self._write(
            "batches",
            {
                "step": self._step,
                "mode": mode,
                "labels": to_labels(labels),
                "predictions": to_labels(predictions),
            },
        )

    def close(self) -> None:
        """Write what is pending, remove the hooks from the module and close the files."""
        if self._closed:
            return
        with contextlib.suppress(Exception):
            self._end_step()
            self._flush_eval_losses()
        self._closed = True
        for handle in [*self._handles, *self._step_handles]:
            handle.remove()
        self._handles, self._step_handles = [], []
        with self._writer_lock:
            writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            writer.close()
        atexit.unregister(self.close)

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------- torch callbacks
    @_guarded
    def _on_forward_pre(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._closed:
            return
        import torch

        now = time.time()
        if not (module.training and torch.is_grad_enabled() and not self._pinned_eval):
            if self._optimizer is None:
                self._end_step()
            self._mode = "eval"
            self._t_prev_end = None  # time spent evaluating is no data loading
            return
        self._mode = "train"
        if self._in_step and self._optimizer is not None:
            # another forward before optimizer.step(): gradient accumulation, same step
            self._in_forward = True
            return
        self._end_step()
        self._flush_eval_losses()
        self._begin_step(now, args, kwargs)

    @_guarded
    def _on_forward_post(self, module: Any, args: tuple[Any, ...], output: Any) -> None:
        if not self._in_forward:
            return
        self._in_forward = False
        self._t_fwd_end = time.time()
        # The end of the backward pass, without a hook on every parameter (which, once
        # registered, costs a Python call per parameter and step for good): a hook on the
        # outputs, whose gradients come first, queues a callback for the end of the pass.
        for tensor in grad_outputs(output):
            tensor.register_hook(self._on_output_grad)

    def _on_output_grad(self, grad: Any) -> None:
        if self._backward_queued or not self._in_step:
            return
        try:
            from torch.autograd import Variable

            Variable._execution_engine.queue_callback(self._on_backward_end)
            self._backward_queued = True
        except Exception:  # no callback: the optimizer's start ends the backward pass
            self._backward_queued = False

    @_guarded
    def _on_backward_end(self) -> None:
        self._backward_queued = False
        if not self._in_step:
            return
        self._t_grad = time.time()
        self._save_gradients()

    def _save_gradients(self) -> None:
        if not (self._tensor_step and "gradients" in self._collections):
            return
        self._grads_saved = True
        for name, param in self._params:
            if param.grad is not None:
                stats = tensor_stats(param.grad)
                if stats is not None:
                    self._buffer[("gradient", name)] = stats

    @_guarded
    def _on_optimizer_pre(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if not self._in_step:
            return
        self._t_opt = time.time()
        if not self._grads_saved:
            self._save_gradients()
        if self.is_save_step and "metrics" in self._collections and optimizer.param_groups:
            lr = optimizer.param_groups[0].get("lr")
            if lr is not None:
                self.record_scalar("learning_rate", lr, mode="train")

    @_guarded
    def _on_optimizer_post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._in_step:
            self._end_step(time.time())

    @_guarded
    def _on_loss(self, module: Any, args: Any, output: Any) -> None:
        if self._closed or "losses" not in self._collections:
            return
        if self.mode == "eval":
            acc = self._eval_losses.setdefault("loss", [0.0, 0.0])
            acc[0] += to_float(output)
            acc[1] += 1
        elif self._in_step and self.is_save_step and self._loss_saved_at != self._step:
            self._loss_saved_at = self._step
            self.record_scalar("loss", output, mode="train")

    @_guarded
    def _on_activation_input(self, name: str, module: Any, args: tuple[Any, ...]) -> None:
        if self._in_forward and args and hasattr(args[0], "detach"):
            stats = tensor_stats(args[0])
            if stats is not None:
                self._buffer[("activation_input", f"{name}.input")] = stats

    @_guarded
    def _on_activation_output(self, name: str, module: Any, args: Any, output: Any) -> None:
        if self._in_forward and hasattr(output, "detach"):
            stats = tensor_stats(output, units=True)
            if stats is not None:
                self._buffer[("activation", f"{name}.output")] = stats

    # --------------------------------------------------------------------------- the step
    def _begin_step(self, now: float, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._step = self._next_step
        self._next_step += 1
        self._in_step = self._in_forward = True
        self._t_data, self._t_fwd = self._t_prev_end, now
        self._t_fwd_end = self._t_grad = self._t_opt = None
        self._grads_saved = False
        self._batch_size = batch_size(args, kwargs) if self.config.framework_profile else None
        self._tensor_step = bool(self._tensor_kinds) and (
            self._step % self.config.tensor_interval == 0
        )
        if not self._tensor_step:
            return
        if "weights" in self._collections:
            for name, param in self._params:
                # a tensor's version counts its in-place changes: frozen weights (often half
                # of a fine-tuned model) are summarised once
                version = param._version
                cached = self._weight_stats.get(name)
                if cached is None or cached[0] != version:
                    cached = (version, tensor_stats(param))
                    self._weight_stats[name] = cached
                if cached[1] is not None:
                    self._buffer[("weight", name)] = cached[1]
        if "activations" in self._collections:
            for name, module in self._activations:
                self._step_handles.append(
                    module.register_forward_pre_hook(
                        functools.partial(self._on_activation_input, name)
                    )
                )
                self._step_handles.append(
                    module.register_forward_hook(
                        functools.partial(self._on_activation_output, name)
                    )
                )

    def _end_step(self, end: float | None = None) -> None:
        """Finish the current training step: write its timings and tensor summaries."""
        if not self._in_step:
            return
        self._in_step = self._in_forward = False
        for handle in self._step_handles:
            handle.remove()
        self._step_handles = []
        assert self._t_fwd is not None
        if end is None:
            end = max(t for t in (self._t_fwd, self._t_fwd_end, self._t_grad) if t is not None)
        self._t_prev_end = end
        if self.config.framework_profile:
            self._write_phases(end)
        if self._buffer:
            self._write_tensors()

    def _write_phases(self, end: float) -> None:
        assert self._t_fwd is not None
        phases: list[tuple[str, float | None, float | None]] = [
            ("step", self._t_data if self._t_data is not None else self._t_fwd, end),
            ("data", self._t_data, self._t_fwd),
            ("forward", self._t_fwd, self._t_fwd_end),
            (
                "backward",
                self._t_fwd_end,
                self._t_opt if self._t_opt is not None else self._t_grad,
            ),
            ("optimizer", self._t_opt, end if self._t_opt is not None else None),
        ]
        for phase, start, stop in phases:
            if start is not None and stop is not None:
                self._write(
                    "framework",
                    {
                        "step": self._step,
                        "phase": phase,
                        "start": start,
                        "end": max(start, stop),
                        "batch_size": self._batch_size,
                    },
                )

    def _write_tensors(self) -> None:
        import torch

        items, self._buffer = list(self._buffer.items()), {}
        by_device: dict[Any, list[int]] = {}
        for i, (_, stats) in enumerate(items):
            by_device.setdefault(stats.device, []).append(i)
        values: list[list[float]] = [[] for _ in items]
        for rows in by_device.values():  # one device sync per device
            flat = torch.cat([items[i][1] for i in rows]).tolist()
            offset = 0
            for i in rows:
                width = items[i][1].numel()
                values[i] = flat[offset : offset + width]
                offset += width
        now = time.time()
        for ((kind, name), _), row in zip(items, values, strict=True):
            event = {"step": self._step, "mode": "train", "name": name, "kind": kind}
            event.update(decode_stats(row))
            event["time"] = now
            self._write("tensors", event)

    def _flush_eval_losses(self) -> None:
        losses, self._eval_losses = self._eval_losses, {}
        for name, (total, count) in losses.items():
            if count:
                self.record_scalar(name, total / count, mode="eval")

    def _write(self, stream: str, event: dict[str, Any]) -> None:
        writer = self._writers.get(stream)
        if writer is None:
            with self._writer_lock:
                if self._closed:
                    return
                writer = self._writers.get(stream)
                if writer is None:
                    writer = EventWriter(self.out_dir, stream, self.host)
                    self._writers[stream] = writer
        writer.write(event)


def _remove_if(handle: Any, kind: str) -> bool:
    if getattr(handle, "_sagebox_kind", "") == kind:
        handle.remove()
        return True
    return False


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise ConfigError(f"debugger mode {mode!r} is not train or eval", hint="use train or eval")
    return mode
