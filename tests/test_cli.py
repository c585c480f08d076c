"""The `chathub` command as an operator runs it: the installed script, in a shell of its own, on a data folder
that ChatHub serves from."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import signal
import socket
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import httpx
import pytest

from chathub import cli
from chathub.settings import Settings
from tests.helpers.app import MAIN_FILE, login, running_app

CHATHUB = Path(sys.executable).with_name("chathub")  # installed by `pip install -e .` beside this Python
NEW_ADMIN = "boss@example.com"
NEW_PASSWORD = "Boss-pass-42"


def command_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The operator's environment: no CHATHUB_* but `settings`, no pytest marker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATHUB_") and k != "PYTEST_CURRENT_TEST"}
    env.update(CHATHUB_DATA_DIR=str(data_dir), **{f"CHATHUB_{k.upper()}": v for k, v in settings.items()})
    return env


def chathub(*args: str, data_dir: Path, stdin: str = "", **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHATHUB), *args],
        input=stdin,
        cwd=data_dir.parent,
        env=command_env(data_dir, **settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def in_a_terminal(args: list[str], data_dir: Path, typed: list[str]) -> tuple[int, str]:
    """Run the command with a terminal of its own (as from a shell) and type each line of `typed` once it
    prompts; its exit code and everything the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(CHATHUB), *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=data_dir.parent,
        env=command_env(data_dir),
        start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # getpass reads /dev/tty, the session's terminal
    )
    os.close(terminal)
    shown, answered = b"", 0
    for line in typed:
        while not shown[answered:].endswith(b": "):  # the next prompt
            shown += os.read(controller, 1024)
        os.write(controller, line.encode() + b"\n")
        answered = len(shown)
    while True:
        try:
            chunk = os.read(controller, 1024)
        except OSError:  # the command ended: its side of the terminal is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return process.wait(timeout=60), shown.decode().replace("\r\n", "\n")


def test_chathub_and_each_command_explain_themselves(tmp_path):
    overview = chathub("--help", data_dir=tmp_path / "data")
    assert overview.returncode == 0
    for command in cli.COMMANDS:
        assert command in overview.stdout
        usage = chathub(command, "--help", data_dir=tmp_path / "data")
        assert usage.returncode == 0 and usage.stdout.startswith(f"usage: chathub {command}")
    bare = chathub(data_dir=tmp_path / "data")
    assert bare.returncode == 2 and "usage: chathub" in bare.stderr


async def test_an_admin_created_while_chathub_serves_can_sign_in_at_once(client: httpx.AsyncClient, chathub_env):
    created = await asyncio.to_thread(chathub, "create-admin", NEW_ADMIN, data_dir=chathub_env, stdin=NEW_PASSWORD)

    assert (created.returncode, created.stderr) == (0, "")
    assert created.stdout == f"Created the admin {NEW_ADMIN}: they can sign in now.\n"
    listed = await client.get("/api/v1/agents", headers=await login(client, NEW_ADMIN, NEW_PASSWORD))
    assert [(a["role"], a["is_active"]) for a in listed.json()["items"] if a["email"] == NEW_ADMIN] == [("admin", True)]


async def test_create_admin_asks_twice_on_the_terminal_and_prepares_a_new_database(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"

    code, shown = await asyncio.to_thread(
        in_a_terminal, ["create-admin", NEW_ADMIN], data_dir, [NEW_PASSWORD, NEW_PASSWORD]
    )

    assert code == 0, shown
    assert f"Password for {NEW_ADMIN}: " in shown and "The same password again: " in shown
    assert NEW_PASSWORD not in shown  # not echoed
    monkeypatch.setenv("CHATHUB_DATA_DIR", str(data_dir))
    async with running_app() as http:
        await login(http, NEW_ADMIN, NEW_PASSWORD)


def test_create_admin_refuses_two_different_passwords(tmp_path):
    code, shown = in_a_terminal(["create-admin", NEW_ADMIN], tmp_path / "data", [NEW_PASSWORD, NEW_PASSWORD + "x"])

    assert code == 1
    assert shown.endswith("ChatHub create-admin failed: the two passwords differ\n")


@pytest.mark.parametrize(
    "password, problem",
    [("short1A", "the password needs at least 8 characters"), ("lowercaseonly", "the password is too weak")],
)
def test_create_admin_refuses_a_password_the_app_would_refuse(tmp_path, password, problem):
    refused = chathub("create-admin", NEW_ADMIN, data_dir=tmp_path / "data", stdin=password)

    assert refused.returncode == 1
    assert refused.stderr.startswith(f"ChatHub create-admin failed: {problem}")


def test_create_admin_says_when_the_email_is_taken(tmp_path):
    data_dir = tmp_path / "data"
    assert chathub("create-admin", NEW_ADMIN, data_dir=data_dir, stdin=NEW_PASSWORD).returncode == 0

    again = chathub("create-admin", NEW_ADMIN.upper(), data_dir=data_dir, stdin="Other-pass-7")

    assert again.returncode == 1
    assert again.stderr == f"ChatHub create-admin failed: an agent with the email {NEW_ADMIN} already exists\n"


def test_backup_writes_a_copy_holding_the_admins(tmp_path):
    data_dir = tmp_path / "data"
    chathub("create-admin", NEW_ADMIN, data_dir=data_dir, stdin=NEW_PASSWORD)
    target = tmp_path / "chathub-backup.db"

    made = chathub("backup", str(target), data_dir=data_dir)

    assert made.returncode == 0 and made.stdout.startswith("Backed up ") and "integrity ok" in made.stdout
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT role, is_active FROM agent WHERE email = ?", (NEW_ADMIN,)).fetchall() == [
            ("admin", 1)
        ]
        (stored_hash,) = copy.execute("SELECT password_hash FROM agent WHERE email = ?", (NEW_ADMIN,)).fetchone()
    assert stored_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # the recommended cost, outside the tests


def test_backup_on_postgresql_points_at_pg_dump(tmp_path):
    url = "postgresql+asyncpg://chathub:db-secret-77@127.0.0.1:5432/chathub"

    refused = chathub("backup", str(tmp_path / "copy.db"), data_dir=tmp_path / "data", database_url=url)

    assert refused.returncode == 1
    assert "pg_dump --format=custom --file=chathub.dump chathub" in refused.stderr
    assert "db-secret-77" not in refused.stdout + refused.stderr


def test_check_config_prints_every_setting_with_secrets_masked(tmp_path):
    secrets = {
        "secret_key": "key-that-signs-cookies-1234567890",
        "admin_email": "root@example.com",
        "admin_password": "Admin-secret-99",
        "database_url": "postgresql+asyncpg://chathub:db-secret-77@127.0.0.1/chathub",
    }

    checked = chathub("check-config", data_dir=tmp_path / "data", port="9090", **secrets)

    assert (checked.returncode, checked.stderr) == (0, "")
    shown = dict(line.split("=", 1) for line in checked.stdout.splitlines())
    assert set(shown) == {f"CHATHUB_{name.upper()}" for name in Settings.model_fields}
    assert shown["CHATHUB_PORT"] == "9090" and shown["CHATHUB_ADMIN_EMAIL"] == "root@example.com"
    assert shown["CHATHUB_DATABASE_URL"] == "postgresql+asyncpg://chathub:***@127.0.0.1/chathub"
    for secret in ("key-that-signs-cookies-1234567890", "Admin-secret-99", "db-secret-77"):
        assert secret not in checked.stdout
    assert not (tmp_path / "data").exists()  # a check changes nothing


def test_check_config_on_postgresql_says_the_secret_key_is_required(tmp_path):
    url = "postgresql+asyncpg://chathub@127.0.0.1/chathub"

    checked = chathub("check-config", data_dir=tmp_path / "data", database_url=url)

    shown = dict(line.split("=", 1) for line in checked.stdout.splitlines())
    assert shown["CHATHUB_SECRET_KEY"].startswith("(not set: required on PostgreSQL")


def test_check_config_names_the_bad_setting_and_exits_2(tmp_path):
    checked = chathub("check-config", data_dir=tmp_path / "data", port="70000")

    assert checked.returncode == 2
    assert checked.stderr == "ChatHub check-config failed: Invalid setting CHATHUB_PORT: must be between 1 and 65535\n"


def test_check_config_warns_of_a_variable_no_setting_reads(tmp_path):
    checked = chathub("check-config", data_dir=tmp_path / "data", prot="9090")

    assert checked.returncode == 0  # start-up warns and goes on
    assert checked.stderr.startswith("Warning: CHATHUB_PROT in the environment is not a ChatHub setting")
    assert "CHATHUB_PORT" in checked.stderr


def test_serve_serves_chathub(tmp_path):
    port = free_port()
    env = command_env(tmp_path / "data", host="127.0.0.1", port=str(port))
    server = subprocess.Popen([str(CHATHUB), "serve"], cwd=tmp_path, env=env)
    health = None
    try:
        while server.poll() is None:  # until it answers
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None, f"chathub serve exited with {server.returncode}"
        assert health.json()["status"] == "ok"
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "command", [[sys.executable, str(MAIN_FILE)], [str(CHATHUB), "serve"]], ids=["main.py", "serve"]
)
def test_a_start_that_cannot_reach_its_database_names_it_without_the_password(tmp_path, command):
    port = free_port()  # nothing listens there
    url = f"postgresql+asyncpg://chathub:db-secret-77@127.0.0.1:{port}/chathub"

    started = subprocess.run(
        command,
        cwd=tmp_path,
        env=command_env(tmp_path / "data", database_url=url, secret_key="shared-by-every-instance"),
        capture_output=True,
        text=True,
    )

    assert started.returncode != 0
    assert f"the database at postgresql+asyncpg://chathub:***@127.0.0.1:{port}/chathub could not be" in started.stderr
    assert "db-secret-77" not in started.stdout + started.stderr
