from __future__ import annotations

from pathlib import Path

import pytest

from sagebox.config import load_settings, settings_sources
from sagebox.errors import ConfigError


def test_defaults_live_under_home(tmp_path: Path) -> None:
    settings = load_settings(env={"SAGEBOX_HOME": str(tmp_path)}, toml_path=None)
    assert settings.home == tmp_path
    assert settings.storage_uri == f"file://{tmp_path}/lake"
    assert settings.metadata_uri == f"sqlite:///{tmp_path}/sagebox.db"
    assert settings.compute == "local"


def test_env_beats_toml_beats_default(tmp_path: Path) -> None:
    toml = tmp_path / "sagebox.toml"
    toml.write_text('compute = "ray://head:10001"\nmax_workers = 3\ns3_region = "eu-west-1"\n')
    env = {"SAGEBOX_HOME": str(tmp_path), "SAGEBOX_MAX_WORKERS": "5"}
    sources = settings_sources(env=env, toml_path=toml)
    assert sources["max_workers"] == ("5", "env")
    assert sources["compute"] == ("ray://head:10001", "toml")
    assert sources["metadata_uri"][1] == "default"
    settings = load_settings(env=env, toml_path=toml)
    assert settings.max_workers == 5
    assert settings.s3_region == "eu-west-1"


def test_sagebox_table_in_toml_is_accepted(tmp_path: Path) -> None:
    toml = tmp_path / "sagebox.toml"
    toml.write_text('[sagebox]\nstorage_uri = "s3://bucket/lake"\n')
    assert load_settings(env={}, toml_path=toml).storage_uri == "s3://bucket/lake"


def test_unknown_toml_key_is_a_clear_error(tmp_path: Path) -> None:
    toml = tmp_path / "sagebox.toml"
    toml.write_text('storage = "s3://x"\n')
    with pytest.raises(ConfigError, match="unknown setting.*storage"):
        load_settings(env={}, toml_path=toml)


def test_malformed_toml_is_a_clear_error(tmp_path: Path) -> None:
    toml = tmp_path / "sagebox.toml"
    toml.write_text("storage_uri = \n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_settings(env={}, toml_path=toml)


def test_bad_value_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="max_workers") as info:
        load_settings(env={"SAGEBOX_MAX_WORKERS": "many"}, toml_path=None)
    assert "SAGEBOX_MAX_WORKERS" in (info.value.hint or "")


_PROFILES = """
max_workers = 3

[profiles.cluster]
storage_uri = "s3://reviews-lake/sagebox"
metadata_uri = "postgresql+psycopg://sagebox@db:5432/sagebox"
compute = "ray://ray-head:8265"
"""


def test_a_profile_overrides_the_top_level_when_chosen(tmp_path: Path) -> None:
    toml = tmp_path / "sagebox.toml"
    toml.write_text(_PROFILES)
    env = {"SAGEBOX_HOME": str(tmp_path), "SAGEBOX_PROFILE": "cluster"}
    sources = settings_sources(env=env, toml_path=toml)
    assert sources["compute"] == ("ray://ray-head:8265", "profile cluster")
    assert sources["max_workers"] == (3, "toml")  # the top level still applies
    settings = load_settings(env={**env, "SAGEBOX_COMPUTE": "local"}, toml_path=toml)
    assert settings.compute == "local"  # the environment beats the profile
    assert settings.storage_uri == "s3://reviews-lake/sagebox"
    laptop = load_settings(env={"SAGEBOX_HOME": str(tmp_path)}, toml_path=toml)
    assert laptop.compute == "local" and laptop.storage_uri.startswith("file://")


def test_an_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    toml = tmp_path / "sagebox.toml"
    toml.write_text(_PROFILES)
    with pytest.raises(ConfigError, match="'clustr'") as info:
        load_settings(env={"SAGEBOX_PROFILE": "clustr"}, toml_path=toml)
    assert "cluster" in str(info.value.hint)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env={"SAGEBOX_PROFILE": "cluster"}, toml_path=tmp_path / "none.toml")


def test_a_profile_with_an_unknown_setting_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "sagebox.toml"
    toml.write_text('[profiles.cluster]\nstorage = "s3://x"\n')
    with pytest.raises(ConfigError, match=r"storage.*\[profiles.cluster\]"):
        load_settings(env={"SAGEBOX_PROFILE": "cluster"}, toml_path=toml)
