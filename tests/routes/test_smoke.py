from tests.helpers.app import login
from tests.helpers.waiting import eventually
from tests.helpers.webhooks import post_webhook, seed_message


async def test_seed_webhook_becomes_a_conversation(client):
    response = await post_webhook(client, seed_message())
    assert response.status_code == 200
    headers = await login(client)

    async def conversations():
        return (await client.get("/api/v1/conversations", headers=headers)).json()["items"]

    items = await eventually(conversations)
    assert items[0]["last_message_preview"] == "Hello, I need support!"
    assert items[0]["customer"]["name"] == "+1234567890"
