"""A SageMaker script-mode training script: a tiny PyTorch MLP on a synthetic 3-class problem.

It runs unmodified as a sagebox (or SageMaker-style) training job: hyperparameters arrive as
command-line flags, data from ``SM_CHANNEL_TRAIN`` (a CSV of features with the label last) or
is generated, the model goes to ``SM_MODEL_DIR``. The debugger hook is two lines and does
nothing outside a sagebox job.

Knobs that break the run on purpose (each makes one debugger rule fire):

- ``--lr 1000``: loss, weights and activations turn NaN within the first epoch
  (ExplodingTensor);
- ``--freeze``: no weight is trained, the loss stays flat (LossNotDecreasing);
- ``--train-rows 8 --epochs 20``: memorises 8 rows; the training loss falls, the validation
  loss rises (Overfit, Overtraining);
- ``--init-scale 50``: weights 50 times too large, the variance of the activation inputs grows
  ~450x from the first ReLU to the second (PoorWeightInitialization).

The defaults (2,000 rows of 3 overlapping classes, 10% random labels, 10 epochs) are a healthy
run: both losses fall, the validation loss stays at or below the training loss. Each run
takes a few seconds (one torch thread: the model is tiny).
"""

from __future__ import annotations

import argparse
import glob
import os

import numpy as np
import torch
from torch import nn

from sagebox.debugger import Hook

FEATURES, CLASSES = 20, 3
SPREAD = 2.5  # noise around the class centres: classes overlap, learning takes epochs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-rows", type=int, default=2000)
    parser.add_argument("--val-rows", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps-per-epoch", type=int, default=0, help="0: whole train set")
    parser.add_argument("--init-scale", type=float, default=1.0, help="multiply initial weights")
    parser.add_argument(
        "--freeze",
        type=lambda v: str(v).lower() in ("1", "true", "yes"),
        nargs="?",
        const=True,
        default=False,
        help="train no weight at all",
    )
    parser.add_argument("--label-noise", type=float, default=0.1)
    return parser.parse_args()


def synthetic(rows: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping Gaussian blobs; a share ``noise`` of the labels is random."""
    centres = np.random.default_rng(1234).normal(0.0, 1.0, size=(CLASSES, FEATURES))
    y = rng.integers(0, CLASSES, size=rows)
    x = centres[y] + rng.normal(0.0, SPREAD, size=(rows, FEATURES))
    flip = rng.random(rows) < noise
    y[flip] = rng.integers(0, CLASSES, size=int(flip.sum()))
    return x.astype(np.float32), y.astype(np.int64)


def load_channel(path: str) -> tuple[np.ndarray, np.ndarray] | None:
    files = sorted(glob.glob(os.path.join(path, "*.csv")))
    if not files:
        return None
    table = np.concatenate([np.loadtxt(f, delimiter=",", skiprows=1, ndmin=2) for f in files])
    return table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)  # a tiny model: more threads only wait for each other
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    channel = os.environ.get("SM_CHANNEL_TRAIN")
    given = load_channel(channel) if channel else None
    if given is not None:
        x_all, y_all = given
        cut = max(1, int(len(y_all) * 0.8))
        x_train, y_train, x_val, y_val = x_all[:cut], y_all[:cut], x_all[cut:], y_all[cut:]
    else:
        x_train, y_train = synthetic(args.train_rows, rng, args.label_noise)
        x_val, y_val = synthetic(args.val_rows, rng, args.label_noise)
    x_train_t, y_train_t = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_val_t, y_val_t = torch.from_numpy(x_val), torch.from_numpy(y_val)

    model = nn.Sequential(
        nn.Linear(x_train.shape[1], args.hidden),
        nn.ReLU(),
        nn.Linear(args.hidden, args.hidden),
        nn.ReLU(),
        nn.Linear(args.hidden, CLASSES),
    )
    if args.init_scale != 1.0:
        with torch.no_grad():
            for layer in model:
                if isinstance(layer, nn.Linear):
                    layer.weight.mul_(args.init_scale)
    if args.freeze:
        for param in model.parameters():
            param.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=args.lr, momentum=0.9) if trainable else None
    loss_fn = nn.CrossEntropyLoss()

    hook = Hook.create_from_env()  # the debugger: None outside a sagebox training job
    if hook:
        hook.register_module(model)
        if optimizer is not None:
            hook.register_optimizer(optimizer)

    steps = max(1, -(-len(y_train) // args.batch_size))
    if args.steps_per_epoch > 0:
        steps = min(steps, args.steps_per_epoch)
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(y_train))
        total, seen = 0.0, 0
        for step in range(steps):
            rows = order[step * args.batch_size : (step + 1) * args.batch_size]
            if len(rows) == 0:
                order = torch.randperm(len(y_train))
                rows = order[: args.batch_size]
            logits = model(x_train_t[rows])
            loss = loss_fn(logits, y_train_t[rows])
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += float(loss.detach()) * len(rows)
            seen += len(rows)
            if hook:
                hook.record_batch(y_train_t[rows], logits)
        train_loss = total / max(seen, 1)
        model.eval()
        with torch.no_grad():
            val_logits = model(x_val_t)
            val_loss = float(loss_fn(val_logits, y_val_t))
            val_acc = float((val_logits.argmax(1) == y_val_t).float().mean())
        if hook:
            hook.record_scalar("loss", train_loss, mode="train")
            hook.record_scalar("loss", val_loss, mode="eval")
            hook.record_scalar("accuracy", val_acc, mode="eval")
        print(
            f"epoch {epoch} train_loss: {train_loss:.4f} val_loss: {val_loss:.4f} "
            f"val_acc: {val_acc:.4f}",
            flush=True,
        )
    model_dir = os.environ.get("SM_MODEL_DIR")
    if model_dir:
        os.makedirs(model_dir, exist_ok=True)
        torch.save(model.state_dict(), os.path.join(model_dir, "model.pt"))
    if hook:
        hook.close()


if __name__ == "__main__":
    main()
