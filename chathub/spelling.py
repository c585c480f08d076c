"""Pointing at the name someone probably meant, for refusals of unknown fields, settings and variables."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str], *, shared_prefix: str = "") -> str:
    """ " (did you mean 'x'?)" for the known name closest to `name`, or "" when none is close. A prefix every
    name shares (CHATHUB_) is left out of the comparison, or it would make any two names look alike."""
    by_rest = {candidate.removeprefix(shared_prefix): candidate for candidate in known}
    close = difflib.get_close_matches(name.removeprefix(shared_prefix), list(by_rest), n=1)
    return f" (did you mean '{by_rest[close[0]]}'?)" if close else ""
