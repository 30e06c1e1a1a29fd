from __future__ import annotations

import json
from pathlib import Path

from sagebox.training.sm_env import HostLayout, hyperparameter_args, sm_environment


def test_hyperparameters_become_sorted_sagemaker_arguments() -> None:
    args = hyperparameter_args(
        {"epochs": 2, "freeze_bert_layer": False, "lr": 5e-5, "x": "a b", "opts": {"b": 1, "a": 2}}
    )
    assert args == [
        "--epochs", "2", "--freeze_bert_layer", "False", "--lr", "5e-05",
        "--opts", "a=2,b=1", "-x", "a b",
    ]  # fmt: skip


def test_environment_of_the_second_of_two_hosts(tmp_path: Path) -> None:
    layout = HostLayout(
        tmp_path / "algo-2", "algo-2", ["algo-1", "algo-2"], {"train": tmp_path / "t"}
    )
    env = sm_environment(
        layout,
        "job-1",
        {"epochs": 2, "model": "m", "flag": True},
        "train.py",
        num_cpus=1,
        master_port=29500,
        checkpoint_dir=tmp_path / "ckpt",
    )
    assert env["SM_MODEL_DIR"] == str(tmp_path / "algo-2" / "model")
    assert env["SM_OUTPUT_DATA_DIR"] == str(tmp_path / "algo-2" / "output" / "data")
    assert json.loads(env["SM_CHANNELS"]) == ["train"]
    assert env["SM_CHANNEL_TRAIN"] == str(tmp_path / "t")
    assert json.loads(env["SM_HPS"]) == {"epochs": 2, "model": "m", "flag": True}
    assert (env["SM_HP_EPOCHS"], env["SM_HP_MODEL"], env["SM_HP_FLAG"]) == ("2", "m", "true")
    assert json.loads(env["SM_HOSTS"]) == ["algo-1", "algo-2"]
    assert env["SM_CURRENT_HOST"] == "algo-2" and env["SM_NUM_CPUS"] == "1"
    assert env["SM_NUM_GPUS"] == "0"
    assert (env["RANK"], env["WORLD_SIZE"], env["MASTER_PORT"]) == ("1", "2", "29500")
    assert env["MASTER_ADDR"] == "127.0.0.1" and env["SM_CHECKPOINT_DIR"].endswith("ckpt")
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["job_name"] == "job-1" and training_env["current_host"] == "algo-2"
    assert training_env["hyperparameters"]["epochs"] == 2
    assert training_env["channel_input_dirs"] == {"train": str(tmp_path / "t")}


def test_single_host_has_no_torch_distributed_variables(tmp_path: Path) -> None:
    layout = HostLayout(tmp_path, "algo-1", ["algo-1"], {})
    env = sm_environment(layout, "j", {}, "train.py", num_cpus=2, master_port=None)
    assert "RANK" not in env and "MASTER_ADDR" not in env
    assert json.loads(env["SM_CHANNELS"]) == []


def test_a_cluster_host_rendezvous_on_rank_0s_node(tmp_path: Path) -> None:
    layout = HostLayout(tmp_path, "algo-2", ["algo-1", "algo-2"], {})
    env = sm_environment(
        layout, "j", {}, "train.py", num_cpus=4, num_gpus=1, master_port="{port}",
        master_addr="10.0.0.5",
    )  # fmt: skip
    assert (env["MASTER_ADDR"], env["MASTER_PORT"], env["RANK"]) == ("10.0.0.5", "{port}", "1")
    assert env["SM_NUM_GPUS"] == "1" and env["SAGEBOX_DIST_BACKEND"] == "nccl"
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    local = sm_environment(layout, "j", {}, "train.py", num_cpus=1, master_port=29500)
    assert local["MASTER_ADDR"] == "127.0.0.1" and local["SAGEBOX_DIST_BACKEND"] == "gloo"
    assert local["SM_NETWORK_INTERFACE_NAME"] == "lo"
