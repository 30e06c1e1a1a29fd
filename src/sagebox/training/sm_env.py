"""SageMaker's script-mode contract: the ``SM_*`` environment and command-line arguments.

A SageMaker training container runs the user's entry point with its hyperparameters as
``--name value`` arguments and describes the job in environment variables (``SM_MODEL_DIR``,
``SM_CHANNEL_TRAIN``, ``SM_HPS``, ...). sagebox reproduces that contract on local directories,
so that an unmodified script-mode ``train.py`` runs. With several instances, each "host" is a
process named ``algo-1``, ``algo-2``, ...; the torch.distributed variables (``MASTER_ADDR``,
``MASTER_PORT``, ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) are set as well. Locally every host
is a process on this machine (``MASTER_ADDR=127.0.0.1``); on a cluster each host is a node and
``MASTER_ADDR`` is rank 0's node address. ``SAGEBOX_DIST_BACKEND`` names the torch.distributed
backend to use: ``nccl`` when the host has GPUs, ``gloo`` otherwise (SageMaker leaves that
choice to the script; a script may read this variable or decide from ``SM_NUM_GPUS``).

Example:
    >>> layout = HostLayout(Path("/tmp/job"), "algo-1", ["algo-1"], {"train": Path("/d")})
    >>> sm_environment(layout, "job-1", {"epochs": 2}, "train.py", num_cpus=2)["SM_HP_EPOCHS"]
    '2'
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["HostLayout", "hyperparameter_args", "sm_environment"]


@dataclass(frozen=True)
class HostLayout:
    """The directories and identity of one host (worker process) of a training job."""

    root: Path
    current_host: str
    hosts: list[str]
    channels: dict[str, Path]

    @property
    def model_dir(self) -> Path:
        """Where the script saves the model (packaged as model.tar.gz)."""
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        """SageMaker's ``/opt/ml/output``."""
        return self.root / "output"

    @property
    def output_data_dir(self) -> Path:
        """Other outputs (packaged as output.tar.gz)."""
        return self.root / "output" / "data"

    @property
    def rank(self) -> int:
        """The host's index in ``hosts``."""
        return self.hosts.index(self.current_host)


def _env_value(value: Any) -> str:
    """SageMaker's encoding of a hyperparameter in ``SM_HP_*``: strings as is, else JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _arg_value(value: Any) -> str:
    """sagemaker-training's encoding on the command line (``str``; dicts as ``k=v,...``)."""
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def hyperparameter_args(hyperparameters: dict[str, Any]) -> list[str]:
    """Hyperparameters as command-line arguments, sorted by name, as SageMaker passes them.

    Example:
        >>> hyperparameter_args({"epochs": 2, "freeze_bert_layer": False})
        ['--epochs', '2', '--freeze_bert_layer', 'False']
    """
    pairs = (
        (f"--{k}" if len(k) > 1 else f"-{k}", _arg_value(hyperparameters[k]))
        for k in sorted(hyperparameters)
    )
    return list(itertools.chain.from_iterable(pairs))


def sm_environment(
    layout: HostLayout,
    job_name: str,
    hyperparameters: dict[str, Any],
    entry_point: str,
    num_cpus: int,
    num_gpus: int = 0,
    master_port: int | str | None = None,
    checkpoint_dir: Path | None = None,
    code_dir: Path | None = None,
    master_addr: str = "127.0.0.1",
) -> dict[str, str]:
    """The ``SM_*`` (and torch.distributed) environment of one host.

    Args:
        layout: the host's directories and identity.
        job_name: the training job's name.
        hyperparameters: as given by the user (values keep their JSON types).
        entry_point: the script's file name.
        num_cpus: CPUs (threads) this host may use.
        num_gpus: GPUs this host may use.
        master_port: port of the torch.distributed rendezvous (several hosts only; on a
            cluster the ``{port}`` placeholder the node task fills in).
        checkpoint_dir: local checkpoint directory, synchronised with ``checkpoint_uri``
            (``SM_CHECKPOINT_DIR``; SageMaker uses the fixed path ``/opt/ml/checkpoints``).
        code_dir: where the source directory was unpacked.
        master_addr: address of rank 0's host (its node's address on a cluster).
    """
    # SageMaker's instances talk over eth0; a loopback group (local, or a test cluster on
    # 127.0.0.1) over lo.
    interface = "lo" if master_addr.startswith("127.") or master_addr == "localhost" else "eth0"
    channels = sorted(layout.channels)
    hps_json = json.dumps(hyperparameters)
    input_data_config = {
        name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
        for name in channels
    }
    resource_config = {
        "current_host": layout.current_host,
        "hosts": layout.hosts,
        "network_interface_name": interface,
    }
    module_name = Path(entry_point).stem
    training_env = {
        "additional_framework_parameters": {},
        "channel_input_dirs": {name: str(layout.channels[name]) for name in channels},
        "current_host": layout.current_host,
        "current_instance_group": "homogeneousCluster",
        "framework_module": None,
        "hosts": layout.hosts,
        "hyperparameters": hyperparameters,
        "input_config_dir": str(layout.root / "input" / "config"),
        "input_data_config": input_data_config,
        "input_dir": str(layout.root / "input"),
        "is_master": layout.rank == 0,
        "job_name": job_name,
        "log_level": 20,
        "master_hostname": layout.hosts[0],
        "model_dir": str(layout.model_dir),
        "module_dir": str(code_dir or ""),
        "module_name": module_name,
        "network_interface_name": interface,
        "num_cpus": num_cpus,
        "num_gpus": num_gpus,
        "output_data_dir": str(layout.output_data_dir),
        "output_dir": str(layout.output_dir),
        "output_intermediate_dir": str(layout.output_dir / "intermediate"),
        "resource_config": resource_config,
        "user_entry_point": entry_point,
    }
    env = {
        "SM_MODEL_DIR": str(layout.model_dir),
        "SM_CHANNELS": json.dumps(channels),
        "SM_HPS": hps_json,
        "SM_HOSTS": json.dumps(layout.hosts),
        "SM_CURRENT_HOST": layout.current_host,
        "SM_MASTER_HOSTNAME": layout.hosts[0],
        "SM_IS_MASTER": json.dumps(layout.rank == 0),
        "SM_NUM_CPUS": str(num_cpus),
        "SM_NUM_GPUS": str(num_gpus),
        "SM_OUTPUT_DIR": str(layout.output_dir),
        "SM_OUTPUT_DATA_DIR": str(layout.output_data_dir),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(layout.output_dir / "intermediate"),
        "SM_INPUT_DIR": str(layout.root / "input"),
        "SM_INPUT_CONFIG_DIR": str(layout.root / "input" / "config"),
        "SM_INPUT_DATA_CONFIG": json.dumps(input_data_config),
        "SM_RESOURCE_CONFIG": json.dumps(resource_config),
        "SM_NETWORK_INTERFACE_NAME": interface,
        "SM_LOG_LEVEL": "20",
        "SM_MODULE_NAME": module_name,
        "SM_MODULE_DIR": str(code_dir or ""),
        "SM_USER_ENTRY_POINT": entry_point,
        "SM_USER_ARGS": json.dumps(hyperparameter_args(hyperparameters)),
        "SM_FRAMEWORK_PARAMS": "{}",
        "SM_TRAINING_ENV": json.dumps(training_env),
        "OMP_NUM_THREADS": str(num_cpus),
        "MKL_NUM_THREADS": str(num_cpus),
        "PYTHONUNBUFFERED": "1",
    }
    for name in channels:
        env[f"SM_CHANNEL_{name.upper()}"] = str(layout.channels[name])
    for key, value in hyperparameters.items():
        env[f"SM_HP_{key.upper()}"] = _env_value(value)
    if checkpoint_dir is not None:
        env["SM_CHECKPOINT_DIR"] = str(checkpoint_dir)
    if len(layout.hosts) > 1 and master_port is not None:
        env.update(
            {
                "MASTER_ADDR": master_addr,
                "MASTER_PORT": str(master_port),
                "RANK": str(layout.rank),
                "WORLD_SIZE": str(len(layout.hosts)),
                "LOCAL_RANK": "0",
                "LOCAL_WORLD_SIZE": "1",
                "SAGEBOX_DIST_BACKEND": "nccl" if num_gpus > 0 else "gloo",
            }
        )
    return env
