"""Training jobs end to end: built-ins and script mode as real job processes."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.errors import ConfigError, InputDataError, JobError
from sagebox.jobs import JobClient
from sagebox.session import Session
from sagebox.training import Estimator
from tests.training.conftest import FIXTURES, fit_failed, wait_for

SCRIPTS = FIXTURES / "scripts"


def _untar(session: Session, uri: str, dest: Path) -> Path:
    archive = session.storage.download(session.key_for(uri), dest / "archive.tar.gz")
    with tarfile.open(archive) as tar:
        tar.extractall(dest / "x", filter="data")
    return dest / "x"


def test_builtin_algorithm_job_packages_a_servable_model(
    session: Session, prepared: dict[str, str], tmp_path: Path
) -> None:
    est = Estimator(algorithm="linear-text", hyperparameters={"min_df": 1}, session=session)
    job = est.fit(
        {"train": "prepared/train", "validation": prepared["validation"], "test": "prepared/test/"},
        logs=False,
    )
    assert job.status is JobStatus.COMPLETED
    assert {"validation:accuracy", "test:accuracy", "test:macro_f1"} <= set(job.metrics)
    names = [p.name for p in est.metrics()]
    assert names.count("test:accuracy") == 1 and "train:accuracy" in names
    assert est.model_data and est.model_data.endswith(f"jobs/{job.name}/output/model.tar.gz")
    unpacked = _untar(session, est.model_data, tmp_path)
    manifest = json.loads((unpacked / "manifest.json").read_text())
    assert manifest["algorithm"] == "linear-text" and manifest["training_job"] == job.name
    assert (unpacked / "code" / "inference.py").is_file()
    from sagebox.models.handler import model_fn, predict_fn

    predictions = predict_fn(["I love it", "awful, returning it"], model_fn(unpacked))
    assert {p["label"] for p in predictions} <= {-1, 0, 1}
    assert Estimator.attach(job.name, session=session).model_data == est.model_data


def test_script_sees_the_sagemaker_environment(
    session: Session, prepared: dict[str, str], tmp_path: Path
) -> None:
    est = Estimator(
        entry_point="dump_env.py",
        source_dir=SCRIPTS,
        hyperparameters={"epochs": 3, "learning_rate": 5e-5, "freeze_bert_layer": False},
        metric_definitions=[{"Name": "validation:accuracy", "Regex": r"val_acc: ([0-9\.]+)"}],
        environment={"MY_SETTING": "on"},
        checkpoint_uri="checkpoints/env-test",
        output_path="models/env",
        session=session,
    )
    job = est.fit({"train": "prepared/train", "validation": prepared["validation"]}, logs=False)
    assert job.outputs["model"].endswith(f"models/env/{job.name}/output/model.tar.gz")
    assert [(p.value, p.step) for p in est.metrics("validation:accuracy")] == [(0.5, 1), (0.75, 2)]
    assert job.metrics["validation:accuracy"] == 0.75
    seen = json.loads((_untar(session, job.outputs["output"], tmp_path) / "env.json").read_text())
    env, argv = seen["env"], seen["argv"]
    assert argv == ["--epochs", "3", "--freeze_bert_layer", "False", "--learning_rate", "5e-05"]
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert Path(env["SM_CHANNEL_TRAIN"], "part-0.parquet").is_file()
    assert json.loads(env["SM_HPS"])["epochs"] == 3 and env["SM_HP_EPOCHS"] == "3"
    assert env["SM_HP_FREEZE_BERT_LAYER"] == "false"
    assert env["SM_CURRENT_HOST"] == "algo-1" and json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert int(env["SM_NUM_CPUS"]) >= 1 and env["SM_NUM_GPUS"] == "0"
    assert json.loads(env["SM_TRAINING_ENV"])["job_name"] == job.name
    assert env["SM_MODEL_DIR"].endswith("algo-1/model") and "SM_OUTPUT_DATA_DIR" in env
    assert "SM_CHECKPOINT_DIR" in env and "RANK" not in env
    model = _untar(session, job.outputs["model"], tmp_path / "m")
    assert (model / "model.txt").read_text() == "a model\n"


def test_crashing_script_fails_with_its_last_log_lines_and_no_model(
    session: Session, prepared: dict[str, str]
) -> None:
    est = Estimator(
        entry_point=str(SCRIPTS / "crash.py"), hyperparameters={"why": "x"}, session=session
    )
    reason = fit_failed(est, prepared["train"])
    assert "crash.py on algo-1 exited with status 1" in reason
    assert "epoch 1 starting" in reason and "ValueError: boom" in reason
    job = est.latest_training_job
    assert job is not None
    assert not [
        a for a in session.metadata.list_artifacts(producer_job=job.name) if a.kind == "model"
    ]


def test_missing_channel_data(session: Session, jobs: JobClient) -> None:
    with pytest.raises(InputDataError, match="'train' has no data at prepared/nothing"):
        Estimator(algorithm="linear-text", session=session).fit({"train": "prepared/nothing"})
    job = jobs.submit("training", {"algorithm": "linear-text"}, inputs={"train": "nothing/here"})
    done = jobs.wait(job.name, timeout=120)
    assert done.status is JobStatus.FAILED
    assert "input channel 'train' has no data at nothing/here" in (done.failure_reason or "")


def test_unknown_hyperparameter_lists_the_valid_names(
    session: Session, jobs: JobClient, prepared: dict[str, str]
) -> None:
    with pytest.raises(InputDataError, match="unknown hyperparameter.*bogus") as info:
        Estimator(algorithm="blazingtext", hyperparameters={"bogus": 1}, session=session)
    assert "vector_dim" in (info.value.hint or "") and "word_ngrams" in (info.value.hint or "")
    job = jobs.submit(
        "training",
        {"algorithm": "xgboost", "hyperparameters": {"num_rounds": 3}},
        inputs={"train": prepared["train"]},
    )
    done = jobs.wait(job.name, timeout=120)
    assert done.status is JobStatus.FAILED
    assert "unknown hyperparameter(s) for xgboost: num_rounds" in (done.failure_reason or "")
    assert "num_round" in (done.failure_reason or "")


def test_out_of_range_and_unknown_values(session: Session) -> None:
    with pytest.raises(InputDataError, match="learning_rate=-0.01 is out of range"):
        Estimator(
            algorithm="text-transformer", hyperparameters={"learning_rate": -0.01}, session=session
        )
    with pytest.raises(ConfigError, match="unknown algorithm 'bert'"):
        Estimator(algorithm="bert", session=session)
    with pytest.raises(InputDataError, match="exactly one of"):
        Estimator(session=session)
    with pytest.raises(InputDataError, match="instance_count=2 needs"):
        Estimator(algorithm="linear-text", instance_count=2, session=session)
    with pytest.raises(InputDataError, match="instance_type='gpu'"):
        Estimator(algorithm="linear-text", instance_type="gpu", session=session)
    with pytest.raises(InputDataError, match="SM_MODEL_DIR is set by sagebox"):
        Estimator(entry_point="t.py", environment={"SM_MODEL_DIR": "/x"}, session=session)
    with pytest.raises(InputDataError, match="has no group"):
        Estimator(entry_point="t.py", metric_definitions=[{"Name": "a", "Regex": "a"}])


def test_labels_outside_the_declared_set_fail_the_job(
    session: Session, jobs: JobClient, tmp_path: Path
) -> None:
    import pandas as pd

    frame = pd.DataFrame({"review_body": ["good", "bad", "meh"] * 4, "sentiment": [1, 2, 5] * 4})
    frame.to_parquet(tmp_path / "bad.parquet")
    session.storage.upload(tmp_path / "bad.parquet", "bad/train.parquet")
    job = jobs.submit(
        "training", {"algorithm": "linear-text"}, inputs={"train": "bad/train.parquet"}
    )
    done = jobs.wait(job.name, timeout=120)
    assert done.status is JobStatus.FAILED
    reason = done.failure_reason or ""
    assert "8 label(s) outside the declared set -1, 0, 1: 2, 5" in reason


def test_fasttext_format_channel_trains_blazingtext(session: Session, tmp_path: Path) -> None:
    import fasttext

    lines = ["__label__1 love it", "__label__-1 awful and cheap", "__label__0 it is ok"] * 15
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n")
    session.storage.upload(tmp_path / "train.txt", "bt/train.txt")
    est = Estimator(algorithm="blazingtext", hyperparameters={"epochs": 20}, session=session)
    job = est.fit("bt/train.txt", logs=False)
    assert job.metrics["train:accuracy"] == 1.0
    model_dir = _untar(session, job.outputs["model"], tmp_path)
    labels, _ = fasttext.load_model(str(model_dir / "model.bin")).predict("love it")
    assert labels == ("__label__1",)


def test_max_run_fails_the_job_and_stops_the_script(
    session: Session, prepared: dict[str, str]
) -> None:
    est = Estimator(entry_point=str(SCRIPTS / "sleep.py"), max_run=3, session=session)
    with pytest.raises(JobError, match="MaxRuntimeExceeded"):
        est.fit(prepared["train"], logs=False)


def test_stop_a_training_job(session: Session, jobs: JobClient, prepared: dict[str, str]) -> None:
    est = Estimator(entry_point=str(SCRIPTS / "sleep.py"), session=session)
    job = est.fit(prepared["train"], wait=False)
    wait_for(lambda: "started" in jobs.logs(job.name), what="the script to start")
    assert jobs.stop(job.name, grace_seconds=10).status is JobStatus.STOPPED
    assert "model" not in jobs.describe(job.name).outputs


def test_xgboost_on_a_tabular_channel(session: Session, tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3))
    label = np.where(x[:, 0] > 0.5, 1, np.where(x[:, 0] < -0.5, -1, 0))
    frame = pd.DataFrame({"label": label, "a": x[:, 0], "b": x[:, 1], "c": x[:, 2]})
    frame.to_csv(tmp_path / "tab.csv", index=False)
    session.storage.upload(tmp_path / "tab.csv", "tabular/train.csv")
    est = Estimator(algorithm="xgboost", hyperparameters={"num_round": 30}, session=session)
    job = est.fit("tabular/train.csv", logs=False)
    assert job.metrics["train:accuracy"] > 0.9
    unpacked = _untar(session, job.outputs["model"], tmp_path)
    from sagebox.models.handler import model_fn, predict_fn

    served = predict_fn(["2.0,0,0", "-2.0,0,0"], model_fn(unpacked))
    assert [p["label"] for p in served] == [1, -1]
