"""Bad input, systematically: hypothesis throws random and hostile requests at every webhook route of the
real server process (wrong types, huge strings, deep nesting, invalid UTF-8, wrong content types, empty
bodies, unknown channel types and ids). Each answer is a 4xx or 200 — never a 5xx; every 4xx leaves a
webhook-log row saying why; every accepted one is processed (none ends `failed`); and the server keeps
serving: a seed webhook still becomes a message and the API still lists everything.

Figures (requests tried, statuses seen) go to test-artifacts/hostile-webhooks.json.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote, unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.browser import ADMIN, ARTIFACTS, LiveServer

EXAMPLES = settings(
    max_examples=int(os.environ.get("CHATHUB_TEST_EXAMPLES", "120")),
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
MAX_WEBHOOK_BYTES = 1024 * 1024  # the server's default CHATHUB_MAX_WEBHOOK_BYTES
figures: dict[str, Counter] = {"statuses": Counter(), "kinds": Counter()}
server_errors: list[dict] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("hostile") / "data")
    yield live
    live.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "hostile-webhooks.json").write_text(
        json.dumps(
            {
                "requests": sum(figures["statuses"].values()),
                "statuses": dict(figures["statuses"]),
                "kinds": dict(figures["kinds"]),
                "server_errors": server_errors,
            },
            indent=2,
        )
    )


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        token = http.post("/api/v1/auth/login", json={"email": ADMIN[0], "password": ADMIN[1]}).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        signed = http.post("/api/v1/channels", json={"type": "simulator", "name": "Signed", "webhook_secret": "s3"})
        disabled = http.post("/api/v1/channels", json={"type": "simulator", "name": "Off", "enabled": False})
        assert signed.status_code == disabled.status_code == 201
        yield http


# --- what hostile requests are made of ------------------------------------------------------------------
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "\x00", "null", "🙂" * 3, "<script>", "'; --"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
SIMULATOR_FIELDS = {
    "from": st.sampled_from(["+15550001", "someone"]),
    "message": st.text(max_size=40),
    "type": st.sampled_from(
        [
            "text",
            "image",
            "audio",
            "video",
            "file",
            "sticker",
            "location",
            "contact",
            "status",
            "reaction",
            "unsupported",
            "",
            "TEXT",
        ]
    ),
    "message_id": st.text(min_size=1, max_size=20),
    "name": st.text(max_size=20),
    "timestamp": st.sampled_from(
        [
            "2024-02-14T10:00:00Z",
            "not a time",
            1e300,
            -1e300,
            253402300800,
            0,
            "",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00-14:00",
            1707904800,
        ]
    ),
    "media_url": st.sampled_from(["https://example.com/a.png", "javascript:alert(1)", "file:///etc/passwd", ""]),
    "file_name": st.sampled_from(["a.png", "../../etc/passwd", "x" * 300]),
    "mime_type": st.sampled_from(["image/png", "text/html", ""]),
    "latitude": st.sampled_from([52.5, 91, -1e309, "52.5", "north"]),
    "longitude": st.sampled_from([13.4, 181, 1e309, "13.4"]),
    "contact": st.sampled_from([{"name": "Bob", "phone": "+1"}, {"name": ""}, "Bob", []]),
    "status": st.sampled_from(["sent", "delivered", "read", "failed", "exploded"]),
    "error": st.text(max_size=20),
}
simulator_like = st.fixed_dictionaries(
    {}, optional={key: strategy | json_values for key, strategy in SIMULATOR_FIELDS.items()}
)
# A valid text message with some fields replaced: reaches the worker and the database far more often.
nearly_valid = st.tuples(st.uuids(), st.fixed_dictionaries({}, optional=SIMULATOR_FIELDS), simulator_like).map(
    lambda t: {"from": "+15550001", "message": "hello", "type": "text", "message_id": str(t[0]), **t[1], **t[2]}
)


def _deep(depth: int, kind: str) -> bytes:
    return (("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth)).encode()


bodies = st.one_of(
    st.tuples(st.just("json"), json_values.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("simulator-like"), simulator_like.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("nearly-valid"), nearly_valid.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just("bytes"), st.binary(max_size=300)),
    st.tuples(
        st.just("invalid-utf8"),
        st.binary(max_size=50).map(
            lambda b: b'{"from": "+1", "message": "' + b + b'\xff\xfe\xc3", "message_id": "u8"}'
        ),
    ),
    st.tuples(st.just("utf16"), simulator_like.map(lambda v: json.dumps(v).encode("utf-16"))),
    st.tuples(
        st.just("deep"),
        st.tuples(st.integers(500, 100_000), st.sampled_from(["list", "dict"])).map(lambda t: _deep(*t)),
    ),
    st.tuples(
        st.just("huge-string"),
        st.sampled_from(
            [1000, 900_000, MAX_WEBHOOK_BYTES - 60, MAX_WEBHOOK_BYTES, MAX_WEBHOOK_BYTES + 1, 3 * MAX_WEBHOOK_BYTES]
        ).map(lambda n: json.dumps({"from": "+1", "message": "x" * n, "message_id": f"huge-{n}"})[: n + 60].encode()),
    ),
    st.tuples(
        st.just("nan"),
        st.sampled_from(
            [
                b'{"from":"+1","message":"n","message_id":"nan","type":"x","v":NaN}',
                b'{"from":"+1","type":"location","latitude":NaN,"longitude":Infinity,"message_id":"inf"}',
                b"NaN",
                b"-Infinity",
                b"1e999",
            ]
        ),
    ),
    st.tuples(st.just("empty"), st.just(b"")),
)
content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/xml",
        "",
        '*/*; q="',
        "application/json" + ";" * 50,
    ]
)
channel_types = (
    st.just("simulator")
    | st.sampled_from(["simulator", "telegram", "whatsapp", "twilio", "SIMULATOR", "..", "unknown"])
    | st.text(min_size=1, max_size=30)
)
channel_ids = (
    st.sampled_from(["1", "2", "3"])
    | st.sampled_from(
        ["1", "2", "3", "0", "-1", "01", "1.0", "1e3", "9" * 19, "9" * 30, "9" * 4300, "١", "１", "²", "abc", "%00"]
    )
    | st.integers(min_value=0).map(str)
)


def segment(text: str) -> str:
    return quote(text, safe="") or "x"


def reaches_channel_route(response: httpx.Response) -> bool:
    """Whether the path, as the server decodes it, is /webhooks/{channel_type}/{channel_id}."""
    parts = unquote(response.request.url.path).split("/")
    return len(parts) == 4 and parts[1] == "webhooks" and all(parts[2:])


def seed_body() -> bytes:
    return json.dumps({"from": "+15550999", "message": "still here", "message_id": uuid.uuid4().hex}).encode()


def check_answer(api: httpx.Client, response: httpx.Response, kind: str, log_id: int | None) -> None:
    """4xx or 200, never 5xx; a 4xx names its log row, which holds the reason."""
    figures["statuses"][response.status_code] += 1
    figures["kinds"][kind] += 1
    if response.status_code >= 500:
        server_errors.append(
            {
                "kind": kind,
                "status": response.status_code,
                "path": response.request.url.path[:200],
                "body": response.request.content[:300].decode("utf-8", "replace"),
            }
        )
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.status_code
    if response.status_code == 200 or log_id is None:
        return
    entry = api.get(f"/api/v1/webhook-logs/{log_id}").json()
    assert (entry["status"], entry["http_status"]) == ("rejected", response.status_code), entry
    assert entry["error"], entry


def log_id_of(response: httpx.Response) -> int | None:
    if response.headers.get("content-type") != "application/json":
        return None
    return response.json().get("webhook_log_id")


def post(server: LiveServer, path: str, body: bytes, content_type: str) -> httpx.Response:
    headers = {"content-type": content_type} if content_type else {}
    return httpx.post(f"{server.url}{path}", content=body, headers=headers, timeout=60)


@EXAMPLES
@given(body=bodies, content_type=content_types)
def test_hostile_bodies_to_the_simulator_webhook_get_a_4xx_with_a_logged_reason_or_200(server, api, body, content_type):
    kind, raw = body
    response = post(server, "/webhooks/simulator", raw, content_type)
    check_answer(api, response, kind, log_id_of(response))
    if len(raw) > MAX_WEBHOOK_BYTES:
        assert response.status_code == 413


@EXAMPLES
@given(body=bodies, channel_type=channel_types, channel_id=channel_ids)
def test_hostile_bodies_to_any_channel_path_get_a_4xx_with_a_logged_reason_or_200(
    server, api, body, channel_type, channel_id
):
    kind, raw = body
    response = post(server, f"/webhooks/{segment(channel_type)}/{segment(channel_id)}", raw, "application/json")
    log_id = log_id_of(response)
    if response.status_code == 404 and log_id is None:
        assert not reaches_channel_route(response), response.text[:300]  # the router's own 404
        figures["statuses"][404] += 1
        return
    check_answer(api, response, kind, log_id)
    if channel_id == "2" and channel_type == "simulator" and response.status_code != 413:  # the signed channel
        assert response.status_code == 401


@EXAMPLES
@given(
    channel_type=channel_types,
    channel_id=channel_ids,
    params=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]) | st.text(max_size=10),
        st.text(max_size=40),
        max_size=4,
    ),
)
def test_hostile_handshakes_get_a_4xx_with_a_logged_reason_or_200(server, api, channel_type, channel_id, params):
    newest_before = _newest_log_id(api)
    response = httpx.get(
        f"{server.url}/webhooks/{segment(channel_type)}/{segment(channel_id)}", params=params, timeout=60
    )
    if response.status_code == 404 and not reaches_channel_route(response):
        figures["statuses"][404] += 1  # the router's own 404 ("%2F" or ".." in a segment): no route matched
        return
    newest = _newest_log_id(api)
    check_answer(api, response, "handshake", newest if newest != newest_before else None)
    if response.status_code != 200:
        assert newest != newest_before, "a refused handshake left no log row"


def _newest_log_id(api: httpx.Client) -> int:
    items = api.get("/api/v1/webhook-logs", params={"limit": 1}).json()["items"]
    return items[0]["id"] if items else 0


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_channel_id_of_5000_digits_is_a_404_not_a_500(server, api, method):
    response = httpx.request(method, f"{server.url}/webhooks/simulator/{'9' * 5000}", content=seed_body(), timeout=60)
    assert response.status_code == 404, response.text[:200]


def test_a_body_larger_than_the_limit_is_413_and_logged_with_its_first_4_kib(server, api):
    response = post(server, "/webhooks/simulator", b"A" * (3 * MAX_WEBHOOK_BYTES), "application/json")
    check_answer(api, response, "huge", response.json()["webhook_log_id"])
    assert response.status_code == 413
    entry = api.get(f"/api/v1/webhook-logs/{response.json()['webhook_log_id']}").json()
    assert entry["body"] == "A" * 4096


def test_a_utf16_body_is_refused_at_the_door_rather_than_accepted_and_lost(server, api):
    """json.loads reads UTF-16 bytes, but the log keeps UTF-8 text that the worker parses later: such a body
    was acknowledged 200 and then ended `failed` — a lost message, from the provider's side."""
    body = json.dumps({"from": "+15550111", "message": "hi", "message_id": uuid.uuid4().hex}).encode("utf-16")
    response = post(server, "/webhooks/simulator", body, "application/json")
    check_answer(api, response, "utf16", log_id_of(response))
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]


def _nested(depth: int) -> dict:
    value: dict = {"bottom": True}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    "odd",
    [{"votes": 2**70, "ids": [-(2**65), 7]}, {"tree": _nested(300)}],
    ids=["integers beyond 64 bits", "nested 300 deep"],
)
def test_an_accepted_payload_that_json_encoders_refuse_still_lists(server, api, odd):
    """An unknown message type is kept with its raw payload; reading it back was a 500 (orjson refuses
    integers beyond 64 bits and nesting beyond 255 levels)."""
    sender = f"+1555{uuid.uuid4().int % 10**7:07d}"
    body = json.dumps({"from": sender, "type": "poll", "message_id": uuid.uuid4().hex, **odd}).encode()
    response = post(server, "/webhooks/simulator", body, "application/json")
    assert response.status_code == 200, response.text
    entry = _wait_processed(api, response.json()["webhook_log_id"])

    (conversation,) = api.get("/api/v1/conversations", params={"q": sender}).json()["items"]
    listed = api.get(f"/api/v1/conversations/{conversation['id']}/messages")
    assert listed.status_code == 200, listed.text[:300]
    (message,) = listed.json()["items"]
    assert message["id"] == entry["message_id"] and message["content_type"] == "unsupported"
    if "votes" in odd:
        assert message["payload"]["votes"] == str(2**70) and message["payload"]["ids"] == [str(-(2**65)), 7]
    else:
        assert "(nested too deep to show)" in json.dumps(message["payload"])


def test_afterwards_the_server_still_serves_and_nothing_accepted_failed(server, api):
    """Runs after the hypothesis tests above (file order): the same server, after all of that."""
    response = post(server, "/webhooks/simulator", seed_body(), "application/json")
    assert response.status_code == 200, response.text
    log_id = response.json()["webhook_log_id"]
    entry = _wait_processed(api, log_id)
    assert entry["message_id"], entry

    for path in ("/api/v1/conversations", "/api/v1/customers", "/api/v1/webhook-logs", "/healthz"):
        assert api.get(path, params={"limit": 100} if path != "/healthz" else None).status_code == 200, path
    for conversation in _all(api, "/api/v1/conversations"):
        listed = api.get(f"/api/v1/conversations/{conversation['id']}/messages", params={"limit": 100})
        assert listed.status_code == 200, (conversation["id"], listed.text[:300])
    # A receipt for a reply we never sent is accepted (it may race its own send), retried, then `failed`:
    # by design. Anything else accepted must have become what it said.
    failed = [
        f
        for f in _all(api, "/api/v1/webhook-logs", status="failed")
        if not f["error"].startswith("UnknownMessage: no outbound message")
    ]
    assert failed == [], [(f["id"], f["error"]) for f in failed]
    assert server_errors == []


def _wait_processed(api: httpx.Client, log_id: int) -> dict:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        entry = api.get(f"/api/v1/webhook-logs/{log_id}").json()
        if entry["status"] == "processed" and api.get("/healthz").json()["webhooks_waiting"] == 0:
            return entry
        time.sleep(0.1)
    raise AssertionError(f"webhook log {log_id} was not processed within 30 s: {entry}")


def _all(api: httpx.Client, path: str, **params) -> list[dict]:
    found, cursor = [], None
    while True:
        page = api.get(path, params={**params, "limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return found
