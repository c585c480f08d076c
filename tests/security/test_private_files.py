"""What ChatHub keeps on disk is its owner's alone: the database (bot tokens, every customer's words), media,
the secret key and the browser-session storage are 0600 files in 0700 folders, and the session storage lives
in the data folder, not in whatever folder ChatHub was started from."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from nicegui.testing import User

from chathub.settings import Settings
from tests.helpers.app import login
from tests.helpers.pages import sign_in
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201e2b3c7d50000000049454e44ae426082"
)


def modes_open_to_others(data_dir: Path) -> list[str]:
    found = []
    for folder, _, files in os.walk(data_dir):
        for path in [Path(folder), *(Path(folder) / name for name in files)]:
            if stat.S_IMODE(path.stat().st_mode) & 0o077:
                found.append(f"{path.relative_to(data_dir.parent)} {stat.S_IMODE(path.stat().st_mode):o}")
    return found


async def test_database_media_and_sessions_are_owner_only(user: User, chathub_env: Path, tmp_path: Path):
    await sign_in(user)
    await user.open("/simulator")  # remembers this browser's simulator channel in its session storage
    await post_webhook(
        user.http_client, {"from": "+15550100", "message": "Here is my order", "message_id": "private-1"}
    )
    headers = await login(user.http_client)

    async def stored() -> bool:  # the webhook is processed in the background (on PostgreSQL at the next poll)
        return (await user.http_client.get("/api/v1/conversations/1", headers=headers)).status_code == 200

    await eventually(stored, timeout=20)
    sent = await user.http_client.post(
        "/api/v1/conversations/1/attachments", headers=headers, files={"file": ("label.png", PNG, "image/png")}
    )
    assert sent.status_code == 201, sent.text
    data_dir = chathub_env
    for _ in range(100):  # NiceGUI writes session storage in the background
        if (data_dir / "browser-sessions").is_dir() and any((data_dir / "browser-sessions").iterdir()):
            break
        await asyncio.sleep(0.05)
    names = {path.name for path in data_dir.rglob("*")}
    # PostgreSQL keeps the database elsewhere, and its secret key comes from the environment
    kept_here = {"chathub.db", "secret_key"} if Settings().is_sqlite else set()
    assert {*kept_here, "browser-sessions"} <= names
    assert any(path.is_file() for path in (data_dir / "media").rglob("*"))
    assert any(path.name.startswith("storage-user-") for path in (data_dir / "browser-sessions").iterdir())
    assert not (tmp_path / ".nicegui").exists()  # the folder ChatHub was started from
    assert modes_open_to_others(data_dir) == []


async def test_a_data_folder_left_readable_is_narrowed_at_start(tmp_path: Path, chathub_env: Path):
    from tests.helpers.app import running_app

    chathub_env.mkdir(mode=0o755)
    os.chmod(chathub_env, 0o755)
    (chathub_env / "media").mkdir(mode=0o755)
    (chathub_env / "media" / "old.png").write_bytes(PNG)
    os.chmod(chathub_env / "media" / "old.png", 0o644)
    async with running_app() as http:
        assert (await http.get("/healthz")).status_code == 200
    assert modes_open_to_others(chathub_env) == []
    assert (chathub_env / "media" / "old.png").read_bytes() == PNG
