"""DDP benchmark script: a fixed amount of MLP training split over the job's hosts.

The global batch (``--batch``) and the number of optimizer steps are the same whatever the
world size; each rank computes ``batch / world`` samples of every step and DDP all-reduces the
gradients (gloo on CPUs). Rank 0 saves its timings into SM_MODEL_DIR/timings.json:
``train_s`` (the training loop), ``allreduce_share`` (an estimate: the loop's time beyond what
the same per-rank compute takes without communication, measured on a few steps first).
"""

import argparse
import json
import os
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

parser = argparse.ArgumentParser()
parser.add_argument("--samples", type=int, default=64000)
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--batch", type=int, default=256)
args = parser.parse_args()

world = int(os.environ.get("WORLD_SIZE", "1"))
if world > 1:
    dist.init_process_group(backend=os.environ.get("SAGEBOX_DIST_BACKEND", "gloo"))
rank = dist.get_rank() if world > 1 else 0
torch.set_num_threads(int(os.environ.get("SM_NUM_CPUS", "1")))
torch.manual_seed(0)
x = torch.randn(args.samples, 256)
y = (x[:, :8].sum(dim=1) > 0).long()
xs, ys = x[rank::world], y[rank::world]
net = torch.nn.Sequential(
    torch.nn.Linear(256, 512),
    torch.nn.ReLU(),
    torch.nn.Linear(512, 512),
    torch.nn.ReLU(),
    torch.nn.Linear(512, 2),
)
model = DistributedDataParallel(net) if world > 1 else net
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
per_rank = args.batch // world
loss_fn = torch.nn.CrossEntropyLoss()


def step(model: torch.nn.Module, start: int) -> float:
    optimizer.zero_grad()
    loss = loss_fn(model(xs[start : start + per_rank]), ys[start : start + per_rank])
    loss.backward()
    optimizer.step()
    return float(loss)


probe = 20  # the same per-rank compute without communication: what the all-reduce adds
began = time.perf_counter()
for i in range(probe):
    step(net, i * per_rank)
compute_per_step = (time.perf_counter() - began) / probe

began = time.perf_counter()
steps, loss = 0, 0.0
for _ in range(args.epochs):
    for start in range(0, len(xs) - per_rank + 1, per_rank):
        loss = step(model, start)
        steps += 1
train_s = time.perf_counter() - began
print(f"rank {rank}/{world}: {steps} steps in {train_s:.2f} s, loss {loss:.4f}", flush=True)
if rank == 0:
    timings = {
        "world": world,
        "steps": steps,
        "train_s": train_s,
        "compute_s": compute_per_step * steps,
        "allreduce_share": max(0.0, 1 - compute_per_step * steps / train_s),
        "loss": loss,
    }
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "timings.json"), "w") as fh:
        json.dump(timings, fh)
if world > 1:
    dist.destroy_process_group()
