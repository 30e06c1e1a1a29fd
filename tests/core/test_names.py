"""Resource names (issue 15, defect 3): one rule, checked by every Python entry point.

A crafted name such as ``../../x`` is refused with a one-line InputDataError that names it and
the rule, and nothing is written outside SAGEBOX_HOME.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sagebox.errors import InputDataError
from sagebox.names import CATALOG, FEATURE_GROUP, RESOURCE, check_resource_name
from sagebox.session import Session

#: crafted or unlucky names: traversal, empty, too long, unicode, slash, dot-dot, NUL, space
BAD_NAMES = [
    "../../x",
    "..",
    "",
    "a" * 64,
    "café",
    "a/b",
    "a..b",
    "a.b",
    "-a",
    "a-",
    "a_b",
    "a\x00b",
    "a b",
    "a\n",
    "/abs",
]
GOOD_NAMES = ["a", "A1", "reviews-model-v2", "a--b", "a" * 63, "training-20261127-174401-3fa2"]


def _outside_snapshot(root: Path, home: Path) -> set[str]:
    """Every path under ``root`` except those under ``home``."""
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == home or home in Path(dirpath).parents:
            continue
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if path != home:
                seen.add(str(path.relative_to(root)))
    return seen


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_sagemaker_rule_accepts_valid_names(name: str) -> None:
    assert check_resource_name("endpoint", name) == name


@pytest.mark.parametrize("name", BAD_NAMES)
def test_sagemaker_rule_refuses_with_one_line_naming_value_and_rule(name: str) -> None:
    with pytest.raises(InputDataError) as info:
        check_resource_name("endpoint", name)
    text = str(info.value)
    assert repr(name) in text
    assert "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$" in text
    assert "\n" not in text


@pytest.mark.parametrize("rule", [RESOURCE, FEATURE_GROUP, CATALOG])
@pytest.mark.parametrize("name", ["../../x", "..", "a/b", "a.b", "", "é", "a\x00"])
def test_no_rule_admits_a_path_part(rule: object, name: str) -> None:
    assert not rule.matches(name)  # type: ignore[attr-defined]


def test_generated_job_names_follow_the_rule() -> None:
    from sagebox.jobs.client import new_job_name

    for base in ("training", "batch-transform", "text_classifier", "x" * 80, "a.b/c", "__"):
        assert RESOURCE.matches(new_job_name(base)), new_job_name(base)


@pytest.fixture()
def home(sagebox_env: Path) -> Path:
    return sagebox_env


@pytest.mark.parametrize("name", BAD_NAMES)
def test_python_entry_points_refuse_bad_names_and_write_nothing_outside_home(
    home: Path, name: str
) -> None:
    from sagebox.backends.metadata import check_group_name, check_name
    from sagebox.backends.metadata.base import EndpointRecord, JobRecord, ModelRecord
    from sagebox.jobs import JobClient
    from sagebox.models import ModelClient
    from sagebox.serving import EndpointClient

    root = home.parent
    session = Session()
    session.storage.write_bytes("probe.txt", b"x")  # the home exists: compare after
    before = _outside_snapshot(root, home)
    calls = [
        lambda: JobClient(session).submit("command", {"argv": ["true"]}, name=name),
        lambda: JobClient(session).logs(name),
        lambda: ModelClient(session).create(name, artifact_uri="models/m/model.tar.gz"),
        lambda: ModelClient(session).delete(name),
        lambda: EndpointClient(session).create(name, model_name="m", port=1),
        lambda: EndpointClient(session).create("ok", model_name=name, port=1),
        lambda: EndpointClient(session).delete(name),
        lambda: session.metadata.create_job(JobRecord(name=name, kind="command")),
        lambda: session.metadata.create_model(
            ModelRecord(name=name, artifact_uri="models/m/model.tar.gz")
        ),
        lambda: session.metadata.put_endpoint(
            EndpointRecord(name=name, model_name="m", status="Creating")
        ),
    ]
    if not FEATURE_GROUP.matches(name):  # "a_b" is a fine feature group name
        calls.append(lambda: check_group_name(name))
    for call in calls:
        with pytest.raises(InputDataError) as info:
            call()
        assert "name" in info.value.message and "\n" not in str(info.value)
    if not CATALOG.matches(name.strip().lower()):  # "a_b" is a fine table name
        with pytest.raises(InputDataError):
            check_name("table", name)
    assert session.metadata.list_jobs() == []
    assert session.metadata.list_models() == []
    assert session.metadata.list_endpoints() == []
    assert _outside_snapshot(root, home) == before


def test_estimator_and_processor_job_names_are_checked_before_any_upload(home: Path) -> None:
    from sagebox.processing import Processor
    from sagebox.training import Estimator

    session = Session()
    script = home.parent / "script.py"
    script.write_text("print('hi')\n")
    with pytest.raises(InputDataError, match="invalid training job name"):
        Estimator(entry_point=str(script), session=session).fit(job_name="../../x", wait=False)
    with pytest.raises(InputDataError, match="invalid processing job name"):
        Processor(session=session).run(code=str(script), job_name="../../x", wait=False)
    assert session.storage.list() == []
    assert session.metadata.list_jobs() == []
