"""A customer's media URL is fetched by ChatHub, never by agents' browsers, and only from public addresses:
loopback, private, link-local and reserved addresses and non-http schemes are refused (after DNS and on every
redirect) and said so on the message. CHATHUB_MEDIA_FETCH_ALLOW lets an operator allow more networks; a
malformed entry stops start-up naming it."""

from __future__ import annotations

import httpx
import pytest

from chathub import db
from chathub.models import Message
from chathub.settings import SettingsError, load_settings
from tests.fakes.web import JPEG, FakeWebsite
from tests.helpers.intake import items, processed
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import seed_message


async def image_message(client: httpx.AsyncClient, auth: dict[str, str], media_url: str) -> dict:
    """Post a customer's photo at `media_url`; the message once ChatHub has fetched or refused the file."""
    await processed(client, auth, seed_message("photo", type="image", media_url=media_url, message="look"))

    async def settled():
        [conversation] = await items(client, auth, "/api/v1/conversations")
        [message] = await items(client, auth, f"/api/v1/conversations/{conversation['id']}/messages")
        return message["media_status"] != "pending" and message

    return await eventually(settled)


async def test_a_photo_from_an_allowed_address_is_fetched_and_served_by_chathub(customer_website, client, auth):
    url = customer_website.add_file("/cat.jpg", JPEG, "image/jpeg")

    message = await image_message(client, auth, url)

    assert (message["media_status"], message["media_url"]) == ("stored", f"/media/{message['id']}")
    assert message["payload"] == {"source_url": url}
    assert (await client.get(message["media_url"], headers=auth)).content == JPEG
    assert [r.path for r in customer_website.requests] == ["/cat.jpg"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_photo_on_the_servers_own_machine_is_refused_without_a_request(client, auth, host):
    with FakeWebsite() as site:
        url = site.add_file("/cat.jpg", JPEG, "image/jpeg").replace("127.0.0.1", host)

        message = await image_message(client, auth, url)

        assert (message["media_status"], message["media_url"]) == ("failed", None)
        assert "127.0.0.1" in message["error"] and "loopback address" in message["error"]
        assert message["payload"] == {"source_url": url}
        assert site.requests == []


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://10.1.2.3/a.png", "10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("http://[::1]:9/a.png", "::1 is a loopback address"),
        ("http://0.0.0.0:9/a.png", "0.0.0.0 is an unspecified address"),
        ("http://240.0.0.1/a.png", "240.0.0.1 is a reserved address"),
        ("file:///etc/passwd", "only http and https addresses are fetched"),
        ("javascript:alert(1)", "only http and https addresses are fetched"),
    ],
)
async def test_addresses_chathub_would_not_fetch_are_refused_with_the_reason(client, auth, url, reason):
    message = await image_message(client, auth, url)

    assert (message["media_status"], message["media_url"]) == ("failed", None)
    assert reason in message["error"]


async def test_a_redirect_into_a_private_network_is_refused_at_that_hop(customer_website, client, auth):
    url = customer_website.add_redirect("/cat.jpg", "http://169.254.169.254/latest/meta-data")

    message = await image_message(client, auth, url)

    assert (message["media_status"], message["media_url"]) == ("failed", None)
    assert "169.254.169.254 is a link-local address" in message["error"]
    assert [r.path for r in customer_website.requests] == ["/cat.jpg"]


async def test_a_redirect_within_allowed_addresses_is_followed(customer_website, client, auth):
    customer_website.add_file("/files/cat.jpg", JPEG, "image/jpeg")
    url = customer_website.add_redirect("/cat.jpg", "/files/cat.jpg")

    message = await image_message(client, auth, url)

    assert message["media_status"] == "stored"
    assert (await client.get(message["media_url"], headers=auth)).content == JPEG


async def test_endless_redirects_are_given_up_with_the_reason(customer_website, client, auth):
    url = customer_website.add_redirect("/loop", "/loop")

    message = await image_message(client, auth, url)

    assert message["media_status"] == "failed" and "redirects more than 5 times" in message["error"]
    assert len(customer_website.requests) == 6


@pytest.fixture
def small_media_limit(monkeypatch):
    monkeypatch.setenv("CHATHUB_MAX_MEDIA_BYTES", "1000")


async def test_a_file_over_the_media_limit_is_refused(customer_website, small_media_limit, client, auth):
    url = customer_website.add_file("/huge.jpg", JPEG + bytes(2000), "image/jpeg")

    message = await image_message(client, auth, url)

    assert message["media_status"] == "failed" and "ChatHub keeps files up to 1000 bytes" in message["error"]


def test_a_malformed_allow_list_stops_start_up_naming_the_setting(monkeypatch):
    monkeypatch.setenv("CHATHUB_MEDIA_FETCH_ALLOW", "127.0.0.1, intranet")

    with pytest.raises(SettingsError, match="CHATHUB_MEDIA_FETCH_ALLOW: 'intranet' is not an IP address"):
        load_settings()


async def test_a_customer_url_stored_before_chathub_fetched_media_is_handed_out_as_text(client, auth):
    message = await image_message(client, auth, "http://10.1.2.3/a.png")
    async with db.write_session() as session:  # the row as ChatHub stored such a message before: URL as given
        row = await session.get(Message, message["id"])
        row.media_url, row.media_status, row.media_ref, row.payload = "http://192.0.2.7/a.png", None, None, None
        session.add(row)

    [conversation] = await items(client, auth, "/api/v1/conversations")
    [shown] = await items(client, auth, f"/api/v1/conversations/{conversation['id']}/messages")
    assert (shown["media_url"], shown["payload"]) == (None, {"source_url": "http://192.0.2.7/a.png"})
