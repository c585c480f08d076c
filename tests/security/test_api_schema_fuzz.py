"""Schemathesis against the app's own OpenAPI (/openapi.json of the real server process), signed in with a
bearer token: every REST operation under /api/v1 gets schema-driven and schema-breaking requests, and none
is answered with a 5xx. Examples per operation are bounded so the whole file stays well under a minute.

Channels created or changed here are kept simulators with no api_base_url: a Telegram/WhatsApp/Twilio
channel would make the server call a real provider when it is saved. Figures go to
test-artifacts/api-schema-fuzz.json.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.helpers.browser import ADMIN, ARTIFACTS, LiveServer

EXAMPLES = int(os.environ.get("CHATHUB_TEST_EXAMPLES", "25"))
statuses: Counter = Counter()
server_errors: list[dict] = []


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("schema-fuzz") / "data")
    yield server
    server.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "api-schema-fuzz.json").write_text(
        json.dumps(
            {
                "requests": sum(statuses.values()),
                "statuses": {str(k): v for k, v in sorted(statuses.items())},
                "server_errors": server_errors,
            },
            indent=2,
        )
    )


@pytest.fixture(scope="module")
def token(live: LiveServer) -> str:
    with httpx.Client(base_url=live.url, timeout=30) as http:
        for i in range(3):  # something for ids 1..3 to name: customers, conversations, messages, logs
            body = {"from": f"+1555000{i}", "message": f"hello {i}", "message_id": uuid.uuid4().hex}
            assert http.post("/webhooks/simulator", json=body).status_code == 200
        return http.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()["token"]


def keep_channels_local(case) -> None:
    """Channel writes stay simulators without a provider URL (no call leaves 127.0.0.1)."""
    if case.path.startswith("/api/v1/channels") and case.method in ("POST", "PATCH") and isinstance(case.body, dict):
        if case.method == "POST":
            case.body["type"] = "simulator"
        case.body.pop("api_base_url", None)
        if isinstance(case.body.get("config"), dict):
            case.body["config"].pop("api_base_url", None)


def test_no_rest_operation_answers_5xx(live, token):
    """Each operation: EXAMPLES cases that fit the schema and EXAMPLES that break it (wrong types, missing
    fields, out-of-range ids...). (Schemathesis' pytest plugin cannot load a schema from a fixture under
    pytest 9, so its Hypothesis strategies are driven here directly.)"""
    api = schemathesis.openapi.from_url(f"{live.url}/openapi.json").include(path_regex=r"^/api/v1/")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 20, [op.label for op in operations]
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, live, token)
            except AssertionError as failure:
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert failures == [], "\n".join(failures)


def _fuzz(operation, mode: GenerationMode, live: LiveServer, token: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )  # no shrinking: a 5xx is reported as found
    def run(case) -> None:
        keep_channels_local(case)
        response = case.call(base_url=live.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append(
                {
                    "operation": operation.label,
                    "status": response.status_code,
                    "path": case.formatted_path,
                    "query": repr(case.query),
                    "body": repr(case.body)[:500],
                    "answer": response.text[:200],
                }
            )
        assert response.status_code < 500, (case.formatted_path, case.query, repr(case.body)[:300])

    run()
