"""A script-mode run that overfits 8 rows for a very long time, checkpointing every epoch.

For the stop action: the Overfit rule must end it long before its natural end, and the last
checkpoint in ``SM_CHECKPOINT_DIR`` (mirrored to ``checkpoint_uri``) must survive the stop.
"""

from __future__ import annotations

import argparse
import json
import os

import torch
from torch import nn

from sagebox.debugger import Hook


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=100_000)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()
    torch.manual_seed(0)
    x_train, y_train = torch.randn(8, 20), torch.randint(0, 3, (8,))
    x_val, y_val = torch.randn(200, 20), torch.randint(0, 3, (200,))
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    hook = Hook.create_from_env()
    if hook:
        hook.register_module(model)
        hook.register_optimizer(optimizer)
    checkpoints = os.environ.get("SM_CHECKPOINT_DIR")
    for epoch in range(1, args.epochs + 1):
        model.train()
        loss = loss_fn(model(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(x_val), y_val))
        if hook:
            hook.record_scalar("loss", loss.item(), mode="train")
            hook.record_scalar("loss", val_loss, mode="eval")
        print(f"epoch {epoch} train_loss: {loss.item():.4f} val_loss: {val_loss:.4f}", flush=True)
        if checkpoints:
            tmp = os.path.join(checkpoints, "checkpoint.json.tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"epoch": epoch}, fh)
            os.replace(tmp, os.path.join(checkpoints, "checkpoint.json"))
    model_dir = os.environ.get("SM_MODEL_DIR")
    if model_dir:
        torch.save(model.state_dict(), os.path.join(model_dir, "model.pt"))


if __name__ == "__main__":
    main()
