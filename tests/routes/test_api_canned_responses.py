"""/api/v1/canned-responses: the team's replies (admins change them) and each agent's own, with short codes unique
per scope; answers like the rest of the API."""

from __future__ import annotations

import asyncio

import httpx

from tests.helpers.app import login

URL = "/api/v1/canned-responses"
REFUND = {"short_code": "Refund", "content": "Hi {{customer.first_name}}, your refund is on its way.", "scope": "team"}


async def add_agent(client: httpx.AsyncClient, auth: dict[str, str], name: str) -> tuple[int, dict[str, str]]:
    """A non-admin agent: their id and their API headers."""
    email = f"{name.lower()}@example.com"
    response = await client.post(
        "/api/v1/agents", json={"email": email, "name": name, "password": f"{name}-pass-1"}, headers=auth
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], await login(client, email, f"{name}-pass-1")


async def add(client: httpx.AsyncClient, headers: dict[str, str], **body) -> dict:
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def codes(client: httpx.AsyncClient, headers: dict[str, str], **params) -> list[tuple[str, str]]:
    response = await client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [(item["short_code"], item["scope"]) for item in response.json()["items"]]


async def test_an_admin_adds_a_team_reply_stored_with_a_lowercase_short_code(client, auth):
    created = await add(client, auth, **REFUND)
    assert created == {
        "id": created["id"],
        "short_code": "refund",
        "content": REFUND["content"],
        "scope": "team",
        "owner_id": None,
    }
    _, ann = await add_agent(client, auth, "Ann")
    assert await codes(client, ann) == [("refund", "team")]


async def test_agents_see_the_teams_replies_and_only_their_own_personal_ones(client, auth):
    ann_id, ann = await add_agent(client, auth, "Ann")
    _, bob = await add_agent(client, auth, "Bob")
    await add(client, auth, **REFUND)
    ann_own = await add(client, ann, short_code="thanks", content="Thanks, Ann here.", scope="personal")
    await add(client, bob, short_code="bye", content="Bye from Bob")
    await add(client, auth, short_code="admin-own", content="The admin's own", scope="personal")

    assert ann_own["owner_id"] == ann_id and ann_own["scope"] == "personal"
    assert await codes(client, ann) == [("refund", "team"), ("thanks", "personal")]
    assert await codes(client, bob) == [("bye", "personal"), ("refund", "team")]
    assert await codes(client, auth) == [("admin-own", "personal"), ("refund", "team")]  # admins too: not Ann's


async def test_q_finds_replies_by_short_code_or_content_in_any_case(client, auth):
    await add(client, auth, **REFUND)
    await add(client, auth, short_code="hours", content="We are open 9 to 5, Monday to Friday.", scope="team")
    await add(client, auth, short_code="shipping", content="Parcels leave within 2 days (100% tracked).", scope="team")

    assert await codes(client, auth, q="REF") == [("refund", "team")]
    assert await codes(client, auth, q="monday") == [("hours", "team")]
    assert await codes(client, auth, q="100%") == [("shipping", "team")]
    assert await codes(client, auth, q="9_t") == []  # a LIKE wildcard is a plain character ("9 to")
    assert await codes(client, auth, q="nothing like it") == []


async def test_only_admins_add_change_or_delete_team_replies(client, auth):
    _, ann = await add_agent(client, auth, "Ann")
    team = await add(client, auth, **REFUND)

    refused = [
        await client.post(URL, json={**REFUND, "short_code": "mine"}, headers=ann),
        await client.patch(f"{URL}/{team['id']}", json={"content": "Changed"}, headers=ann),
        await client.delete(f"{URL}/{team['id']}", headers=ann),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert all(isinstance(r.json()["detail"], str) for r in refused)
    assert await codes(client, auth) == [("refund", "team")]

    changed = await client.patch(f"{URL}/{team['id']}", json={"short_code": "REFUNDS"}, headers=auth)
    assert changed.status_code == 200 and changed.json()["short_code"] == "refunds"
    assert changed.json()["content"] == REFUND["content"]


async def test_another_agents_personal_reply_is_not_there_for_anyone_else(client, auth):
    _, ann = await add_agent(client, auth, "Ann")
    _, bob = await add_agent(client, auth, "Bob")
    anns = await add(client, ann, short_code="thanks", content="Thanks, Ann here.")

    for headers in (bob, auth):
        patched = await client.patch(f"{URL}/{anns['id']}", json={"content": "Bob was here"}, headers=headers)
        deleted = await client.delete(f"{URL}/{anns['id']}", headers=headers)
        assert (patched.status_code, deleted.status_code) == (404, 404)
        assert patched.json() == {"detail": f"canned reply {anns['id']} does not exist"}
    assert (await client.get(URL, headers=ann)).json()["items"][0]["content"] == "Thanks, Ann here."

    own = await client.patch(f"{URL}/{anns['id']}", json={"content": "Thanks!"}, headers=ann)
    assert own.status_code == 200 and own.json()["content"] == "Thanks!"
    assert (await client.delete(f"{URL}/{anns['id']}", headers=ann)).status_code == 204
    assert await codes(client, ann) == []
    assert (await client.delete(f"{URL}/{anns['id']}", headers=ann)).status_code == 404


async def test_a_short_code_is_unique_per_scope_and_a_taken_one_is_a_409_naming_it(client, auth):
    _, ann = await add_agent(client, auth, "Ann")
    _, bob = await add_agent(client, auth, "Bob")
    await add(client, auth, **REFUND)
    taken = await client.post(URL, json={**REFUND, "short_code": "REFUND", "content": "Another"}, headers=auth)
    assert taken.status_code == 409
    assert taken.json() == {"detail": "a team reply with the short code refund already exists"}

    await add(client, ann, short_code="refund", content="Ann's own refund text")  # personal: beside the team's
    await add(client, bob, short_code="refund", content="Bob's own refund text")  # and per agent
    again = await client.post(URL, json={"short_code": "Refund", "content": "x"}, headers=ann)
    assert again.status_code == 409 and "refund" in again.json()["detail"]

    other = await add(client, ann, short_code="thanks", content="Thanks")
    renamed = await client.patch(f"{URL}/{other['id']}", json={"short_code": "refund"}, headers=ann)
    assert renamed.status_code == 409
    assert renamed.json() == {"detail": "a personal reply with the short code refund already exists"}
    assert await codes(client, ann) == [("refund", "personal"), ("refund", "team"), ("thanks", "personal")]


async def test_two_saves_racing_for_one_short_code_give_one_reply_and_a_409(client, auth):
    answers = await asyncio.gather(
        *(client.post(URL, json={**REFUND, "content": f"Version {n}"}, headers=auth) for n in range(4))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    assert await codes(client, auth) == [("refund", "team")]


async def test_bad_short_codes_and_content_are_refused_with_a_sentence_and_change_nothing(client, auth):
    existing = await add(client, auth, **REFUND)
    bad_bodies = [
        {"short_code": "two words", "content": "x"},
        {"short_code": "", "content": "x"},
        {"short_code": "x" * 51, "content": "x"},
        {"short_code": "/refund", "content": "x"},
        {"short_code": "ok", "content": "   "},
        {"short_code": "ok", "content": "x" * 5001},
        {"short_code": "ok", "content": "x", "scope": "everyone"},
        {"short_code": "ok", "content": "x", "shortcut": "typo"},
        {"content": "x"},
    ]
    for body in bad_bodies:
        response = await client.post(URL, json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
    assert (await client.post(URL, json={"short_code": "two words", "content": "x"}, headers=auth)).json() == {
        "detail": "a short code is 1 to 50 letters, digits, - or _ (no spaces)"
    }
    unknown = await client.post(URL, json={"short_code": "ok", "content": "x", "shortcut": "typo"}, headers=auth)
    assert "'shortcut'" in str(unknown.json()["detail"])

    for patch in ({"short_code": "no good"}, {"content": ""}, {"content": None}, {"scope": "personal"}):
        response = await client.patch(f"{URL}/{existing['id']}", json=patch, headers=auth)
        assert response.status_code == 422, (patch, response.text)
    assert (await client.get(URL, headers=auth)).json()["items"] == [existing]
    longest = await client.post(URL, json={"short_code": "x" * 50, "content": "y" * 5000}, headers=auth)
    assert longest.status_code == 201


async def test_without_a_token_every_canned_route_is_401(client, auth):
    team = await add(client, auth, **REFUND)
    answers = [
        await client.get(URL),
        await client.post(URL, json=REFUND),
        await client.patch(f"{URL}/{team['id']}", json={"content": "x"}),
        await client.delete(f"{URL}/{team['id']}"),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401]
    assert (await client.patch(f"{URL}/{2**63}", json={"content": "x"}, headers=auth)).status_code == 422
    assert (await client.delete(f"{URL}/999999", headers=auth)).status_code == 404
