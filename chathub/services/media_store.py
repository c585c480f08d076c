"""Where media files live: a `MediaStore` holds bytes under keys ChatHub chose (`inbound/2026-12/<hex>.png`,
stored on the message; no request ever names one).

Every instance behind a load balancer must reach the same store, so a file one instance saved is served by any
other. `LocalFolderStore` keeps them in a folder (CHATHUB_MEDIA_DIR; a shared mount when there are several
instances). Another kind of store (S3-compatible) implements the same five methods; `local_path` answers None
there, and files are then read through `open`.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import BinaryIO


class MediaMissing(Exception):
    """No file under this key (or a key that would leave the store)."""


class MediaStore(ABC):
    """What an implementation must do: `save` whole files only (a reader never sees half of one, and a failed
    save leaves nothing and raises OSError), `open` for reading, `size` in bytes, `delete` (a missing key is
    no error). `open` and `size` raise MediaMissing for an unknown key."""

    @abstractmethod
    def save(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def open(self, key: str) -> BinaryIO: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """The file on this machine's disk, when the store has one (served with range requests, uploaded by
        drivers straight from disk); None for a remote store."""
        return None


class LocalFolderStore(MediaStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(target.suffix + ".part")
        try:
            partial.write_bytes(data)
            os.replace(partial, target)
        except OSError:
            partial.unlink(missing_ok=True)  # a full disk keeps no half-written file
            raise

    def open(self, key: str) -> BinaryIO:
        return self._existing(key).open("rb")

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        return self._existing(key)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise MediaMissing(key)
        return path

    def _path(self, key: str) -> Path:
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or path == root:
            raise MediaMissing(key)
        return path
