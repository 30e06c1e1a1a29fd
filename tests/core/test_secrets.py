"""Secrets kept (issue 15, defect 4): no password in any output or error; a private home.

``sagebox config show`` (table and JSON) and the errors of stores that cannot be reached never
contain a password, token or AWS secret; what sagebox creates under a fresh SAGEBOX_HOME (after
a small job and a lake write) has no group or other permission bits.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sagebox.errors import ConfigError, ServiceUnavailableError, redact, redact_uri
from tests.conftest import free_port

SECRET = "s3cr3tPassw0rd"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        ("postgresql+psycopg://app:p@ss/w@rd@db:5432/meta", "postgresql+psycopg://app:***@db:5432/meta"),
        ("redis://:secret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("redis://h:6379/0?password=secret&db=1", "redis://h:6379/0?password=***&db=1"),
        (f"http://{AWS_KEY_ID}:{AWS_SECRET}@minio:9000", "http://AKIA***:***@minio:9000"),
        ("https://h/o?X-Amz-Signature=abc&X-Amz-Security-Token=t", "https://h/o?X-Amz-Signature=***&X-Amz-Security-Token=***"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:////tmp/sagebox.db", "sqlite:////tmp/sagebox.db"),
        ("file:///tmp/lake", "file:///tmp/lake"),
    ],
)  # fmt: skip
def test_redact_uri_masks_credentials_only(uri: str, shown: str) -> None:
    assert redact_uri(uri) == shown


def test_redact_masks_secrets_in_free_text() -> None:
    text = f"aws_secret_access_key={AWS_SECRET} key {AWS_KEY_ID} at redis://:{SECRET}@h:1/0"
    masked = redact(text)
    assert SECRET not in masked and AWS_SECRET not in masked and AWS_KEY_ID not in masked


def _secret_env(home: Path) -> dict[str, str]:
    dead = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEBOX_")}
    env.update(
        SAGEBOX_HOME=str(home),
        SAGEBOX_METADATA_URI=f"postgresql://sagebox:{SECRET}@127.0.0.1:{dead}/meta",
        SAGEBOX_ONLINE_STORE_URI=f"redis://:{SECRET}@127.0.0.1:{dead}/0?password={SECRET}",
        SAGEBOX_S3_ENDPOINT_URL=f"http://{AWS_KEY_ID}:{AWS_SECRET}@127.0.0.1:{dead}",
    )
    return env


def _sagebox(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagebox", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _assert_no_secret(text: str) -> None:
    for secret in (SECRET, AWS_SECRET, AWS_KEY_ID):
        assert secret not in text, text


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_config_show_never_prints_passwords(tmp_path: Path, json_flag: list[str]) -> None:
    result = _sagebox(_secret_env(tmp_path / "home"), "config", "show", *json_flag)
    assert result.returncode == 0, result.stderr
    _assert_no_secret(result.stdout + result.stderr)
    assert "***" in result.stdout
    if json_flag:
        shown = json.loads(result.stdout)
        assert shown["metadata_uri"].startswith("postgresql://sagebox:***@127.0.0.1:")
        assert "password=***" in shown["online_store_uri"]


def test_failing_connections_never_echo_passwords(tmp_path: Path) -> None:
    from sagebox.backends.kv import open_online_store
    from sagebox.backends.metadata import open_metadata_store

    env = _secret_env(tmp_path / "home")
    with pytest.raises(ServiceUnavailableError) as info:
        open_metadata_store(env["SAGEBOX_METADATA_URI"]).list_jobs()
    _assert_no_secret(str(info.value))
    with pytest.raises(ServiceUnavailableError) as info:
        open_online_store(env["SAGEBOX_ONLINE_STORE_URI"])
    _assert_no_secret(str(info.value))
    # through the CLI, where a user sees them
    for args in (["jobs", "list"], ["features", "list"]):
        result = _sagebox(env, *args)
        assert result.returncode != 0
        _assert_no_secret(result.stdout + result.stderr)


def test_s3_endpoint_credentials_are_not_echoed(tmp_path: Path) -> None:
    pytest.importorskip("s3fs")
    from sagebox.backends.storage.s3 import S3ObjectStore

    endpoint = f"http://{AWS_KEY_ID}:{AWS_SECRET}@127.0.0.1:{free_port()}"
    with pytest.raises(ConfigError) as info:
        S3ObjectStore("s3://lake/dev", endpoint_url=endpoint).read_bytes("k")
    _assert_no_secret(str(info.value))
    assert "AKIA***:***@127.0.0.1" in str(info.value)
    # through the CLI, with the endpoint in the settings
    env = _secret_env(tmp_path / "home")
    env["SAGEBOX_STORAGE_URI"] = "s3://lake/dev"
    result = _sagebox(env, "lake", "ls")
    assert result.returncode != 0
    _assert_no_secret(result.stdout + result.stderr)


def _group_or_other_bits(home: Path) -> list[str]:
    loose = []
    for dirpath, dirnames, filenames in os.walk(home):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            if mode & 0o077:
                loose.append(f"{path.relative_to(home)} {stat.filemode(mode)}")
    home_mode = home.lstat().st_mode
    if home_mode & 0o077:
        loose.append(f". {stat.filemode(home_mode)}")
    return loose


def test_a_fresh_home_is_owner_only_after_a_job_and_a_lake_write(
    sagebox_env: Path, tmp_path: Path
) -> None:
    import pandas as pd

    from sagebox import lake
    from sagebox.backends.kv import open_online_store
    from sagebox.jobs import JobClient
    from sagebox.session import Session

    old = os.umask(0o022)  # the usual umask: it must not decide
    try:
        session = Session()
        job = JobClient(session).run(
            "command", parameters={"argv": [sys.executable, "-c", "open('out.txt','w').write('x')"]}
        )
        assert JobClient(session).logs(job.name)
        frame = pd.DataFrame({"a": [1, 2], "p": ["x", "y"]})
        lake.to_parquet(frame, "tables/t1/", partition_cols=["p"], session=session)
        session.storage.write_bytes("notes/hello.txt", b"hi")
        open_online_store(session.settings.online_store_uri)
        session.storage.download("notes/hello.txt", tmp_path / "copy" / "hello.txt")
    finally:
        os.umask(old)
    assert sagebox_env.is_dir()
    assert (sagebox_env / "sagebox.db").is_file()
    assert _group_or_other_bits(sagebox_env) == []
