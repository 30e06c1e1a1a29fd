"""Script mode installs the source directory's requirements.txt first, as SageMaker does.

A real ``pip install`` into the job's own environment, from a local ``--find-links``
directory (``--no-index``: nothing may be downloaded, so what sagebox's environment already
has, numpy here, must be taken from it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagebox.backends.metadata.base import JobStatus
from sagebox.session import Session
from sagebox.training import Estimator
from tests.fixtures.wheels import build_wheel
from tests.training.conftest import fit_failed

pytestmark = pytest.mark.slow

SCRIPT = """\
import json, os, sys
import numpy
import sbreqdemo
with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as fh:
    json.dump({"value": sbreqdemo.VALUE, "prefix": sys.prefix, "numpy": numpy.__file__}, fh)
print("trained with", sbreqdemo.VALUE)
"""


def _source(tmp_path: Path, requirements: str) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text(SCRIPT)
    (source / "requirements.txt").write_text(requirements)
    return source


def test_requirements_are_installed_into_the_jobs_environment(
    session: Session, prepared: dict[str, str], tmp_path: Path
) -> None:
    index = tmp_path / "index"
    index.mkdir()
    build_wheel(index, "sbreqdemo", {"sbreqdemo.py": b"VALUE = 42\n"}, version="1.0")
    source = _source(tmp_path, f"--no-index\n--find-links {index}\nsbreqdemo==1.0\nnumpy\n")
    est = Estimator(entry_point="train.py", source_dir=source, session=session)
    job = est.fit(prepared["train"], logs=False)
    assert job.status is JobStatus.COMPLETED, job.failure_reason
    log = est.logs()
    assert "installing requirements.txt into the job's environment" in log
    assert "trained with 42" in log
    model = session.storage.download(session.key_for(str(est.model_data)), tmp_path / "m.tgz")
    import tarfile

    with tarfile.open(model) as tar:
        seen = json.load(tar.extractfile("seen.json"))  # type: ignore[arg-type]
    assert seen["value"] == 42 and seen["prefix"].endswith("venv")
    assert not seen["numpy"].startswith(seen["prefix"])  # sagebox's numpy, not a new copy
    with pytest.raises(ModuleNotFoundError):  # sagebox's own environment is unchanged
        __import__("sbreqdemo")


def test_requirements_pip_cannot_install_fail_the_job_with_pips_reason(
    session: Session, prepared: dict[str, str], tmp_path: Path
) -> None:
    source = _source(tmp_path, "--no-index\nsbreq-no-such-package==9.9\n")
    est = Estimator(entry_point="train.py", source_dir=source, session=session)
    reason = fit_failed(est, prepared["train"])
    assert "pip could not install requirements.txt" in reason
    assert "sbreq-no-such-package" in reason
