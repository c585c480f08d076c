"""Media ChatHub keeps: customers' photos and files fetched from their provider, and agents' attachments.

Files live in the media store (services/media_store.py: CHATHUB_MEDIA_DIR, by default DATA_DIR/media) with
names ChatHub chose; a message records its file's key, so no request ever names a path. Browsers fetch
`/media/<message id>` (signed-in agents only): a provider URL, which may carry a token, never reaches them.
A provider that fetches an attachment itself (Twilio) gets a signed link that expires.

Inbound media is fetched by the media worker after the message is stored (the webhook is acknowledged
first; WhatsApp's download URLs live five minutes, so the worker starts at once and retries briefly). A file
the media folder cannot take (a full disk) is retried the same way; one whose fetch ended failed is fetched
again when its webhook is replayed. Several instances share the fetching: each claims a file by a lease
(services/leases.py), and its failed attempts and retry time are kept on the message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import mimetypes
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub import bus, db, process_state, relay
from chathub.drivers.base import MediaRef, PermanentError, RetryableError
from chathub.models import ContentType, MediaStatus, Message, MessageKind, utcnow
from chathub.schemas import MessageOut
from chathub.services import channels, leases
from chathub.services.errors import NotFound, ValidationFailed
from chathub.services.media_store import LocalFolderStore, MediaMissing, MediaStore

log = logging.getLogger(__name__)
WORKER = "media"
FETCH_ATTEMPTS = 5
FETCH_BATCH = 4
PUBLIC_LINK_SECONDS = 24 * 3600
# Shown in the browser; anything else is downloaded as a file (an SVG or HTML file could run script).
INLINE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "audio/mpeg",
        "audio/ogg",
        "audio/mp4",
        "audio/aac",
        "audio/amr",
        "audio/wav",
        "video/mp4",
        "video/3gpp",
        "video/webm",
        "video/quicktime",
        "application/pdf",
    }
)
NO_FILE = "message {id} has no stored file"
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class StoredFile:
    relative_path: str
    mime_type: str
    file_name: str
    size: int


def media_store() -> MediaStore:
    return LocalFolderStore(process_state.current().settings.media_dir)


def content_type_for(mime_type: str) -> ContentType:
    major = mime_type.split("/", 1)[0]
    return {"image": ContentType.image, "audio": ContentType.audio, "video": ContentType.video}.get(
        major, ContentType.file
    )


MAGIC_NUMBERS = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"OggS", "audio/ogg"),
)


def sniffed_mime(data: bytes) -> str | None:
    """The type the bytes themselves announce, for the common formats (a label can be wrong)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in MAGIC_NUMBERS if data.startswith(magic)), None)


def save_file(data: bytes, *, folder: str, mime_type: str | None, file_name: str | None) -> StoredFile:
    """Write bytes under media/<folder>/ with a fresh name; the name a sender chose is kept only as a label."""
    mime_type = (
        (sniffed_mime(data) or mime_type or mimetypes.guess_type(file_name or "")[0] or "application/octet-stream")
        .split(";")[0]
        .strip()
        .lower()
    )
    suffix = Path(file_name or "").suffix.lower()
    if not _SAFE_SUFFIX.match(suffix) or mimetypes.guess_type(f"x{suffix}")[0] != mime_type:
        suffix = mimetypes.guess_extension(mime_type) or ".bin"
    relative = f"{folder}/{time.strftime('%Y-%m')}/{uuid.uuid4().hex}{suffix}"
    media_store().save(relative, data)
    label = Path(file_name).name if file_name else f"{content_type_for(mime_type).value}{suffix}"
    return StoredFile(relative, mime_type, label[:200], len(data))


def store_upload(data: bytes, *, file_name: str, mime_type: str | None) -> StoredFile:
    """An agent's attachment, checked against the size cap."""
    limit = process_state.current().settings.max_media_bytes
    if not data:
        raise ValidationFailed("the file is empty")
    if len(data) > limit:
        raise ValidationFailed(f"the file has {human_size(len(data))}; at most {human_size(limit)} can be sent")
    return save_file(data, folder="outbound", mime_type=mime_type, file_name=file_name)


def human_size(size: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def path_of(relative_path: str) -> Path:
    """The file behind a stored key, on this machine's disk, refusing anything that would leave the store."""
    try:
        path = media_store().local_path(relative_path)
    except MediaMissing:
        path = None
    if path is None:
        raise NotFound("the file is not here")
    return path


@dataclass(frozen=True)
class ServedFile:
    path: Path
    mime_type: str
    file_name: str
    inline: bool


async def file_of_message(message_id: int, *, outbound_only: bool = False) -> ServedFile:
    async with db.read_session() as session:
        message = await session.get(Message, message_id)
    if message is None or message.media_status != MediaStatus.stored or not message.media_path:
        raise NotFound(NO_FILE.format(id=message_id))
    if outbound_only and (message.direction.value != "outbound" or message.kind != MessageKind.message):
        raise NotFound(NO_FILE.format(id=message_id))
    mime = (message.media_mime_type or "application/octet-stream").split(";")[0].strip().lower()
    return ServedFile(
        path_of(message.media_path),
        mime,
        message.file_name or Path(message.media_path).name,
        inline=mime in INLINE_TYPES,
    )


def browser_url(message_id: int) -> str:
    return f"/media/{message_id}"


def public_link(message_id: int, *, seconds: int = PUBLIC_LINK_SECONDS) -> str:
    """A link a provider can fetch an attachment from, without signing in, until it expires."""
    expires = int(time.time()) + seconds
    public_url = process_state.current().settings.public_url
    return f"{public_url}/media/public/{message_id}/{expires}/{_link_signature(message_id, expires)}"


def public_link_valid(message_id: int, expires: int, signature: str) -> bool:
    return expires >= time.time() and hmac.compare_digest(signature, _link_signature(message_id, expires))


def _link_signature(message_id: int, expires: int) -> str:
    key = process_state.current().settings.secret_key.encode()
    return hmac.new(key, f"media:{message_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:40]


# ---- the media worker ----


class MediaFolderError(Exception):
    """The media folder could not take a file (a full disk, a quota, a read-only or broken folder): retried
    like a provider's passing error, since it usually clears."""


def _save_inbound(data: bytes, *, mime_type: str | None, file_name: str | None) -> StoredFile:
    try:
        return save_file(data, folder="inbound", mime_type=mime_type, file_name=file_name)
    except OSError as error:
        raise MediaFolderError(
            f"the file could not be saved in the media folder: {error.strerror or type(error).__name__}"
        ) from error


async def fetch_pending_media() -> float | None:
    """Worker step: claim a few inbound files still at their provider and fetch them; say when to look again."""
    await leases.release_earlier_runs()
    pending = select(Message).where(Message.media_status == MediaStatus.pending).order_by(col(Message.id))
    now = utcnow()
    async with db.write_session() as session:
        due, claim = await leases.claim(session, pending, limit=FETCH_BATCH, now=now)
    if not due:
        return await _seconds_until_retry(now)
    await asyncio.gather(*(fetch_message_media(message, claim) for message in due))
    return 0


async def _seconds_until_retry(now: datetime) -> float | None:
    """As of `now` (the claim's time): a file waiting for its retry rests under a lease that ends then (see
    `_retry_or_fail`)."""
    async with db.read_session() as session:
        later = (
            await session.exec(
                select(func.min(Message.claimed_until)).where(
                    Message.media_status == MediaStatus.pending, col(Message.claimed_until) > now
                )
            )
        ).one()
    return max(0.05, (later - now).total_seconds()) if later else None


async def fetch_message_media(message: Message, claim: datetime) -> None:
    """Fetch a file this instance claimed (its lease ends at `claim`) and record the outcome."""
    channel = await channels.get_channel(message.channel_id)
    ref = MediaRef(
        ref=message.media_ref or "",
        mime_type=message.media_mime_type,
        file_name=message.file_name,
        size=message.media_size,
    )
    try:
        fetched = await channels.driver_for(channel).fetch_media(ref)
        if len(fetched.data) > process_state.current().settings.max_media_bytes:
            raise PermanentError(f"the file is larger than {process_state.current().settings.max_media_bytes} bytes")
        stored = _save_inbound(
            fetched.data,
            mime_type=fetched.mime_type or message.media_mime_type,
            file_name=fetched.file_name or message.file_name,
        )
    except MediaFolderError as error:
        log.warning("media of message %s: %s", message.id, error)
        await _retry_or_fail(message.id, claim, None, str(error))
    except RetryableError as error:
        reason = f"the file could not be fetched from {channel.type}: {error}"
        await _retry_or_fail(message.id, claim, error.retry_after, reason)
    except Exception as error:  # a permanent refusal or anything unexpected: say so on the message
        log.info("media of message %s not fetched: %s", message.id, error)
        await _record_media(message.id, claim, failed=f"the file could not be fetched from {channel.type}: {error}")
    else:
        await _record_media(message.id, claim, stored=stored)


async def _retry_or_fail(message_id: int, claim: datetime, retry_after: float | None, reason: str) -> None:
    """Count the failed attempt; the file rests until its retry time under a lease no instance holds (it ends
    then), or is `failed` after FETCH_ATTEMPTS."""
    async with db.write_session() as session:
        message = await _still_claimed(session, message_id, claim)
        if message is None:
            return
        message.attempts += 1
        if message.attempts < FETCH_ATTEMPTS:
            base = process_state.current().settings.retry_base_seconds
            delay = max(retry_after or 0, base * 2 ** (message.attempts - 1))
            message.claimed_until = utcnow() + timedelta(seconds=delay)
            session.add(message)
            return
    await _record_media(message_id, claim, failed=reason)


async def _still_claimed(session: AsyncSession, message_id: int, claim: datetime) -> Message | None:
    """The message, while its file is pending under this claim (a fetch that outlived its lease has lost it)."""
    message = await session.get(Message, message_id, with_for_update=True)
    if message is None or message.media_status != MediaStatus.pending or message.claimed_until != claim:
        return None
    return message


async def _record_media(
    message_id: int, claim: datetime, *, stored: StoredFile | None = None, failed: str | None = None
) -> None:
    async with db.write_session() as session:
        message = await _still_claimed(session, message_id, claim)
        if message is None:
            return
        if stored is not None:
            message.media_status, message.media_path, message.media_size = (
                MediaStatus.stored,
                stored.relative_path,
                stored.size,
            )
            message.media_mime_type, message.file_name = stored.mime_type, message.file_name or stored.file_name
            message.media_url = browser_url(message.id)
        else:
            message.media_status, message.error = MediaStatus.failed, failed
        message.claimed_until = None
        session.add(message)
        relay.announce(session, "message_status_changed", message.id)
    bus.message_status_changed.emit(MessageOut.model_validate(message))
