"""Settings: bad values stop start-up in one line; the secret key and the database live in the data folder."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chathub.settings import SettingsError, load_settings
from tests.helpers.app import MAIN_FILE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment for `python main.py`: no CHATHUB_* from outside, no pytest marker, our settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATHUB_") and k != "PYTEST_CURRENT_TEST"}
    env.update(CHATHUB_DATA_DIR=str(data_dir), CHATHUB_HOST="127.0.0.1", CHATHUB_PORT=str(free_port()))
    env.update({f"CHATHUB_{key.upper()}": value for key, value in settings.items()})
    return env


def start_main(tmp_path: Path, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MAIN_FILE)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("settings", "variable"),
    [
        ({"port": "notaport"}, "CHATHUB_PORT"),
        ({"port": "70000"}, "CHATHUB_PORT"),
        ({"public_url": "ftp://x"}, "CHATHUB_PUBLIC_URL"),
        ({"admin_email": "admin@example.com"}, "CHATHUB_ADMIN_PASSWORD"),
        ({"admin_email": "admin@example.com", "admin_password": "short"}, "CHATHUB_ADMIN_PASSWORD"),
        ({"database_url": "nonsense"}, "CHATHUB_DATABASE_URL"),
        ({"database_url": "sqlite:///chathub.db"}, "CHATHUB_DATABASE_URL"),
        ({"outbound_concurrency": "0"}, "CHATHUB_OUTBOUND_CONCURRENCY"),
        ({"auto_resolve_hours": "0"}, "CHATHUB_AUTO_RESOLVE_HOURS"),
        ({"auto_resolve_hours": "a day"}, "CHATHUB_AUTO_RESOLVE_HOURS"),
    ],
)
def test_invalid_setting_stops_start_up_with_one_line_naming_it(tmp_path, settings, variable):
    result = start_main(tmp_path, server_env(tmp_path / "data", **settings))

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_data_dir_that_cannot_be_created_stops_start_up_with_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = start_main(tmp_path, server_env(blocker / "data"))

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "CHATHUB_DATA_DIR" in result.stderr and "Traceback" not in result.stderr


def test_secret_key_is_generated_once_and_kept_owner_only(chathub_env):
    first = load_settings()
    second = load_settings()

    key_file = chathub_env / "secret_key"
    assert first.secret_key and first.secret_key == second.secret_key
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_explicit_secret_key_wins_and_writes_no_file(chathub_env, monkeypatch):
    monkeypatch.setenv("CHATHUB_SECRET_KEY", "from-the-environment")

    assert load_settings().secret_key == "from-the-environment"
    assert not (chathub_env / "secret_key").exists()


def test_start_on_postgresql_without_a_secret_key_stops_with_one_line_saying_why(tmp_path):
    nobody_listens = f"postgresql+asyncpg://chathub:db-secret-77@127.0.0.1:{free_port()}/chathub"

    result = start_main(tmp_path, server_env(tmp_path / "data", database_url=nobody_listens))

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "CHATHUB_SECRET_KEY must be set on PostgreSQL" in result.stderr
    assert "every instance" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "secret_key").exists()


def test_media_folder_defaults_to_the_data_dir_and_follows_its_setting(chathub_env, monkeypatch, tmp_path):
    assert load_settings().media_dir == chathub_env / "media"

    monkeypatch.setenv("CHATHUB_MEDIA_DIR", str(tmp_path / "shared-media"))

    assert load_settings().media_dir == tmp_path / "shared-media"


def test_database_defaults_to_sqlite_under_the_data_dir(chathub_env):
    settings = load_settings()

    assert settings.database_url == f"sqlite+aiosqlite:///{chathub_env / 'chathub.db'}"
    assert chathub_env.is_dir()


def test_public_url_defaults_to_host_and_port(monkeypatch):
    monkeypatch.setenv("CHATHUB_PORT", "9001")

    assert load_settings().public_url == "http://127.0.0.1:9001"


@pytest.mark.parametrize(("value", "hours"), [(None, None), ("", None), ("24", 24.0), ("0.5", 0.5)])
def test_auto_resolve_is_off_unless_set_to_a_number_of_hours(chathub_env, monkeypatch, value, hours):
    if value is not None:
        monkeypatch.setenv("CHATHUB_AUTO_RESOLVE_HOURS", value)
    assert load_settings().auto_resolve_hours == hours


def test_load_settings_raises_settings_error_not_validation_error(monkeypatch):
    monkeypatch.setenv("CHATHUB_PORT", "0")

    with pytest.raises(SettingsError, match="CHATHUB_PORT"):
        load_settings()


def test_without_admin_settings_start_up_log_says_how_to_create_the_first_admin(tmp_path):
    env = server_env(tmp_path / "data")
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, str(MAIN_FILE)], cwd=tmp_path, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        url = f"http://127.0.0.1:{env['CHATHUB_PORT']}/healthz"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=20)

    log = log_path.read_text()
    assert "No agent exists yet" in log
    assert "CHATHUB_ADMIN_EMAIL" in log and "CHATHUB_ADMIN_PASSWORD" in log
    assert "Traceback" not in log
