"""Keep long-lived objects out of garbage collection, and give memory back to the operating system once
closed tabs are gone.

A closed tab's elements are freed inside the process, but glibc keeps the freed heap for reuse, so the
server's RSS stayed at its peak after a wave of tabs. A moment after the last tab is deleted, a collection
and `malloc_trim` hand the unused heap back (on glibc; elsewhere only the collection runs).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc

from chathub import process_state

RELEASE_DELAY_SECONDS = 0.5  # one release for a wave of closing tabs, not one per tab
# Python's defaults (700, 10, 10) ran a young collection every 700 new objects and a full one every few seconds
# under a webhook burst: about 9 % of the server's CPU. With these, young collections are 14 times rarer (about
# 3 ms each) and full ones rare; what the young ones free is the same garbage, freed a little later.
COLLECTION_THRESHOLDS = (10_000, 20, 100)


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_libc = _load_libc()


def release_unused_memory() -> None:
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)


class PendingRelease:
    """The release planned after the latest deleted tab."""

    def __init__(self) -> None:
        self.timer: asyncio.TimerHandle | None = None


def release_soon() -> None:
    """Called as each tab is deleted: release once, RELEASE_DELAY_SECONDS after the last one."""
    if not process_state.is_started():
        return  # tabs deleted at shut-down: the process ends anyway
    pending = process_state.current().part(PendingRelease)
    if pending.timer is not None:
        pending.timer.cancel()
    pending.timer = asyncio.get_running_loop().call_later(RELEASE_DELAY_SECONDS, release_unused_memory)


def collect_less_often() -> None:
    gc.set_threshold(*COLLECTION_THRESHOLDS)


def freeze_start_up_objects() -> None:
    """Leave the objects alive at start-up (modules, routes, models: about 170,000) out of every later full
    collection: they live as long as the process. With 20 agent tabs in view, a full collection scanned them
    all again and took about 0.4 s, holding every request and webhook meanwhile. Once per process (tests
    start the app many times, and a frozen object that becomes garbage in a cycle is never collected)."""
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
