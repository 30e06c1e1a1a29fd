"""The fine-tuning loop of ``text-transformer``.

- Texts are tokenized once without padding; each batch is padded to its own longest sequence
  (dynamic padding), and batches are drawn from length-sorted chunks, so little compute goes
  to padding on a CPU.
- The batch order of epoch ``e`` depends only on ``(seed, e)``: a run resumed at any step sees
  the same batches as an uninterrupted one, which (with the RNG state restored from the
  checkpoint) makes the resumed run end with the same weights.
- Launched as several processes with ``WORLD_SIZE``/``RANK``/``MASTER_ADDR``/``MASTER_PORT``
  set, it trains with torch DistributedDataParallel over gloo: every process takes one slice of
  each global batch and the loss is normalised by the whole global batch, so that N processes
  with batch size b compute the same update as one process with batch size N*b.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sagebox.algorithms._checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint

if TYPE_CHECKING:
    from sagebox.debugger.hook import Hook

__all__ = [
    "Distributed",
    "TrainConfig",
    "bfloat16_linear_twin",
    "encode",
    "predict_logits",
    "train_loop",
]

_LENGTH_CHUNK_BATCHES = 50


@dataclass
class TrainConfig:
    """What :func:`train_loop` needs besides the model (a view of the hyperparameters)."""

    epochs: int
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    train_batch_size: int
    validation_batch_size: int
    train_steps_per_epoch: int
    validation_steps_per_epoch: int
    max_grad_norm: float
    class_weight_balanced: bool
    max_samples_per_class: int
    seed: int
    checkpoint_steps: int
    keep_checkpoints: int
    log_interval: int
    train_precision: str = "float32"


class Distributed:
    """This process's place in a torch.distributed group (world size 1 when not launched so)."""

    def __init__(self) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.enabled = self.world_size > 1 and "MASTER_ADDR" in os.environ

    def __enter__(self) -> Distributed:
        if self.enabled:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("gloo", timeout=timedelta(minutes=10))
        else:
            self.world_size, self.rank = 1, 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def all_sum(self, values: list[float]) -> list[float]:
        """Sum a few numbers over all processes."""
        if not self.enabled:
            return values
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor)
        return [float(v) for v in tensor]

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value``, in rank order."""
        if not self.enabled:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out


def encode(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, truncated to ``max_length``, not padded."""
    encoded = tokenizer(
        [str(t) for t in texts],
        truncation=True,
        max_length=max_length,
        padding=False,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return [list(ids) for ids in encoded["input_ids"]]


def _pad(seqs: Sequence[list[int]], pad_id: int) -> tuple[Any, Any]:
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask


def epoch_rows(labels: np.ndarray, cap: int, seed: int, epoch: int) -> np.ndarray:
    """The training rows of one epoch: all, or at most ``cap`` per class (drawn anew each epoch)."""
    rng = np.random.default_rng([seed, epoch, 1])
    if cap <= 0:
        return np.arange(len(labels))
    rows = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        rows.append(rng.choice(members, size=cap, replace=False) if len(members) > cap else members)
    return np.sort(np.concatenate(rows))


def epoch_batches(
    lengths: np.ndarray, global_batch: int, seed: int, epoch: int, rows: np.ndarray | None = None
) -> list[np.ndarray]:
    """The global batches of one epoch: shuffled, length-grouped, a function of (seed, epoch)."""
    rng = np.random.default_rng([seed, epoch])
    rows = np.arange(len(lengths)) if rows is None else rows
    perm = rows[rng.permutation(len(rows))]
    chunk = global_batch * _LENGTH_CHUNK_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(perm), chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + global_batch] for i in range(0, len(part), global_batch))
    return [batches[i] for i in rng.permutation(len(batches))]


def predict_logits(
    model: Any,
    encodings: Sequence[list[int]],
    pad_id: int,
    batch_size: int,
    precision: str = "float32",
) -> np.ndarray:
    """Logits of each encoded text (batched by length for speed, returned in input order).

    ``precision="bfloat16"`` runs the matrix products under CPU autocast (weights stay
    float32; logits are returned as float32).
    """
    import torch

    order = np.argsort([len(e) for e in encodings], kind="stable")
    out = np.zeros((len(encodings), model.config.num_labels), dtype=np.float32)
    model.eval()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16")
    with torch.inference_mode(), autocast:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = _pad([encodings[i] for i in rows], pad_id)
            out[rows] = model(input_ids=ids, attention_mask=mask).logits.float().numpy()
    return out


def bfloat16_linear_twin(model: Any) -> Any:
    """A copy of ``model`` for bfloat16 inference whose linear layers hold bfloat16 weights.

    Under CPU autocast a linear layer casts its float32 weight and bias to bfloat16 on every
    call, which for one short review costs more than the matrix product. The twin holds those
    casts once; everything else (embeddings, layer norms) stays float32, so under autocast it
    computes exactly what ``model`` does.
    """
    import copy

    import torch

    twin = copy.deepcopy(model).eval()
    for module in twin.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)
    for param in twin.parameters():
        param.requires_grad_(False)
    return twin


def train_loop(
    model: Any,
    train_enc: list[list[int]],
    train_y: np.ndarray,
    pad_id: int,
    cfg: TrainConfig,
    dist: Distributed,
    fingerprint: dict[str, Any],
    validation: tuple[list[list[int]], np.ndarray] | None = None,
    log_metric: Callable[[str, float, int | None], None] | None = None,
    checkpoint_dir: Path | None = None,
    on_checkpoint: Callable[[Path], None] | None = None,
    hook: Hook | None = None,
) -> dict[str, float]:
    """Fine-tune ``model`` in place; return summary figures (throughput, final losses).

    With a debugger ``hook``, the model and optimizer are registered with it, and it gets the
    training loss (mean since its last save step) and sampled batches every ``save_interval``
    steps, and the validation loss, accuracy and macro-F1 as ``eval`` scalars.

    Raises:
        InputDataError: if ``checkpoint_dir`` holds a checkpoint of a different model.
    """
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's convention

    log = log_metric if (log_metric is not None and dist.rank == 0) else (lambda *a: None)
    lengths = np.asarray([len(e) for e in train_enc])
    global_batch = cfg.train_batch_size * dist.world_size

    def batches_of(epoch: int) -> list[np.ndarray]:
        rows = epoch_rows(train_y, cfg.max_samples_per_class, cfg.seed, epoch)
        return epoch_batches(lengths, global_batch, cfg.seed, epoch, rows)

    batches_per_epoch = len(batches_of(0))
    steps_per_epoch = batches_per_epoch
    if cfg.train_steps_per_epoch > 0:
        steps_per_epoch = min(steps_per_epoch, cfg.train_steps_per_epoch)
    total_steps = max(1, steps_per_epoch * cfg.epochs)
    n_classes = model.config.num_labels
    counts = np.bincount(train_y, minlength=n_classes).astype(np.float64)
    if cfg.max_samples_per_class > 0:
        counts = np.minimum(counts, cfg.max_samples_per_class)
    weights = np.ones(n_classes)
    if cfg.class_weight_balanced:
        weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    class_w = torch.tensor(weights, dtype=torch.float32)

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.learning_rate,
    )
    warmup = int(total_steps * cfg.warmup_ratio)

    def lr_lambda(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    epoch, step_in_epoch, global_step = 0, 0, 0
    latest = latest_checkpoint(checkpoint_dir) if checkpoint_dir is not None else None
    if latest is not None:
        state = load_checkpoint(latest, fingerprint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        epoch, step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        global_step = int(state["global_step"])
        rng_states = state["rng"]
        torch.set_rng_state(rng_states[dist.rank % len(rng_states)])
        if dist.rank == 0:
            print(
                f"resumed from {latest.name}: epoch {epoch + 1}, step {step_in_epoch} "
                f"(global step {global_step})",
                flush=True,
            )

    if hook is not None:
        hook.register_module(model)
        hook.register_optimizer(optimizer)
        hook.set_step(global_step)
    hook_loss, hook_n = 0.0, 0

    net: Any = model
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model)

    saved_at = [-1]

    def checkpoint(next_epoch: int, next_step: int) -> None:
        if checkpoint_dir is None or saved_at[0] == global_step:
            return
        saved_at[0] = global_step
        rng = dist.gather(torch.get_rng_state())
        if dist.rank != 0:
            return
        state = {
            "fingerprint": fingerprint,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "epoch": next_epoch,
            "step_in_epoch": next_step,
            "global_step": global_step,
            "rng": rng,
        }
        path = save_checkpoint(checkpoint_dir, global_step, state, cfg.keep_checkpoints)
        print(f"checkpoint {path.name} saved", flush=True)
        if on_checkpoint is not None:
            on_checkpoint(path)

    samples, train_seconds, running, running_n = 0, 0.0, 0.0, 0
    summary: dict[str, float] = {}
    bfloat16 = cfg.train_precision == "bfloat16"  # forward under autocast; loss in float32
    while epoch < cfg.epochs:
        model.train()
        batches = batches_of(epoch)[:steps_per_epoch]
        started = time.perf_counter()
        for step in range(step_in_epoch, len(batches)):
            batch = batches[step]
            if len(batch) < dist.world_size:
                continue  # a last batch smaller than the process count is skipped everywhere
            mine = np.array_split(batch, dist.world_size)[dist.rank]
            ids, mask = _pad([train_enc[i] for i in mine], pad_id)
            targets = torch.as_tensor(train_y[mine], dtype=torch.long)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
                logits = net(input_ids=ids, attention_mask=mask).logits.float()
            per_example = F.cross_entropy(logits, targets, reduction="none") * class_w[targets]
            batch_weight = float(weights[train_y[batch]].sum())
            loss = per_example.sum() * dist.world_size / max(batch_weight, 1e-12)
            loss.backward()
            if cfg.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            global_step += 1
            samples += len(batch)
            loss_value = float(loss.detach()) / dist.world_size
            running += loss_value
            running_n += 1
            if hook is not None:
                hook_loss, hook_n = hook_loss + loss_value, hook_n + 1
                if hook.is_save_step:
                    hook.record_scalar("loss", hook_loss / hook_n, mode="train")
                    hook_loss, hook_n = 0.0, 0
                hook.record_batch(targets, logits)
            if cfg.log_interval > 0 and global_step % cfg.log_interval == 0:
                log("train:loss", running / running_n, global_step)
                running, running_n = 0.0, 0
            if cfg.checkpoint_steps > 0 and global_step % cfg.checkpoint_steps == 0:
                train_seconds += time.perf_counter() - started
                checkpoint(epoch, step + 1)
                started = time.perf_counter()
        train_seconds += time.perf_counter() - started
        epoch, step_in_epoch = epoch + 1, 0
        if running_n:
            log("train:loss", running / running_n, global_step)
            running, running_n = 0.0, 0
        log("epoch", float(epoch), global_step)
        if validation is not None:
            summary.update(
                _validate(model, validation, pad_id, cfg, dist, log, global_step, n_classes, hook)
            )
        checkpoint(epoch, 0)
    if samples and train_seconds > 0:
        summary["train:samples_per_second"] = samples / train_seconds
        log("train:samples_per_second", summary["train:samples_per_second"], global_step)
    return summary


def _validate(
    model: Any,
    validation: tuple[list[list[int]], np.ndarray],
    pad_id: int,
    cfg: TrainConfig,
    dist: Distributed,
    log: Callable[..., None],
    step: int,
    n_classes: int,
    hook: Hook | None = None,
) -> dict[str, float]:
    """Validation loss, accuracy and macro-F1 over this process's shard, summed over all."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    encodings, labels = validation
    rows = np.arange(len(encodings))
    if cfg.validation_steps_per_epoch > 0:
        rows = rows[: cfg.validation_steps_per_epoch * cfg.validation_batch_size]
    mine = rows[dist.rank :: dist.world_size]
    loss_sum, preds = 0.0, []
    if len(mine):
        logits = predict_logits(
            model, [encodings[i] for i in mine], pad_id, cfg.validation_batch_size
        )
        tensor = torch.as_tensor(logits)
        loss_sum = float(F.cross_entropy(tensor, torch.as_tensor(labels[mine]), reduction="sum"))
        preds = logits.argmax(axis=1).tolist()
    total_loss, count = dist.all_sum([loss_sum, float(len(mine))])
    gathered = dist.gather((mine.tolist(), preds))
    idx = np.concatenate([np.asarray(g[0], dtype=np.int64) for g in gathered])
    pred = np.concatenate([np.asarray(g[1], dtype=np.int64) for g in gathered])
    truth = labels[idx]
    f1s = []
    for c in range(n_classes):
        tp = float(np.sum((pred == c) & (truth == c)))
        denom = float(np.sum(pred == c) + np.sum(truth == c))
        f1s.append(2 * tp / denom if denom else 0.0)
    out = {
        "validation:loss": total_loss / max(count, 1.0),
        "validation:accuracy": float(np.mean(pred == truth)) if len(truth) else 0.0,
        "validation:macro_f1": float(np.mean(f1s)),
    }
    for name, value in out.items():
        log(name, value, step)
    if hook is not None:
        for name, value in out.items():
            hook.record_scalar(name.split(":", 1)[1], value, mode="eval")
        hook.record_batch(truth, pred, mode="eval")
    model.train()
    return out
