"""The shipped instance.toml, the settings table and the loader's errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fediverse.config import SETTINGS, ConfigError, config_from_dict, load_config
from tests.conftest import REPO_ROOT

SHIPPED = REPO_ROOT / "instance.toml"


def _comment_above(lines: list[str], index: int) -> bool:
    return index > 0 and lines[index - 1].lstrip().startswith("#")


def test_every_setting_is_documented_in_the_shipped_file() -> None:
    lines = SHIPPED.read_text().splitlines()
    section = None
    documented: dict[str, bool] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif "=" in stripped and not stripped.startswith("#"):
            key = stripped.split("=", 1)[0].strip()
            documented[f"{section}.{key}"] = _comment_above(lines, index)
    missing = [s.name for s in SETTINGS if s.name not in documented]
    undocumented = [name for name, has_comment in documented.items() if not has_comment]
    assert missing == [], f"settings absent from instance.toml: {missing}"
    assert undocumented == [], f"settings without a comment above them: {undocumented}"


def test_shipped_file_matches_the_defaults() -> None:
    data = tomllib.loads(SHIPPED.read_text())
    for setting in SETTINGS:
        assert data[setting.section][setting.key] == setting.default, setting.name


def test_shipped_file_loads_for_a_local_instance() -> None:
    config = load_config(SHIPPED)
    assert config.instance.base_url == "http://localhost:8000"
    assert config.database.url.startswith("sqlite+aiosqlite:////")  # made absolute
    assert config.database.url.endswith("/data/fediverse.sqlite3")
    assert config.server.port == 8000


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ({"server": {"port": "eighty"}}, "server.port", "whole number"),
        ({"server": {"port": 70000}}, "server.port", "port number"),
        ({"server": {"colour": "blue"}}, "server.colour", "unknown setting"),
        ({"servers": {}}, "[servers]", "unknown section"),
        ({"instance": {"base_url": "localhost:8000"}}, "instance.base_url", "absolute"),
        ({"instance": {"base_url": "https://x.example/sub"}}, "instance.base_url", "path"),
        ({"database": {"url": "mysql://x"}}, "database.url", "sqlite+aiosqlite"),
        ({"federation": {"authorized_fetch": "yes"}}, "federation.authorized_fetch", "true or"),
        ({"delivery": {"max_in_flight": 0}}, "delivery.max_in_flight", "greater than zero"),
    ],
)
def test_bad_values_name_the_key_and_the_problem(data: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data, source="x.toml")
    message = str(caught.value)
    assert message.startswith(f"x.toml: {key}: ")
    assert words in message
    assert "\n" not in message


def test_missing_file_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\nport = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "x.toml"
    path.parent.mkdir()
    path.write_text('[database]\nurl = "sqlite+aiosqlite:///db/x.sqlite3"\n')
    config = load_config(path)
    assert config.database.url == f"sqlite+aiosqlite:///{tmp_path}/conf/db/x.sqlite3"
