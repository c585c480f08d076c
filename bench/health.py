"""Whether a ChatHub server (or the balancer in front of instances) is up: the one check that benches and test
helpers poll after starting one."""

from __future__ import annotations

import httpx


def answers_health(url: str) -> bool:
    """True once `url` answers /healthz with 200; False while it refuses connections or is not ready."""
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
