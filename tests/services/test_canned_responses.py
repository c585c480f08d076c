"""Canned replies in the services: variables filled in on insert, and changes heard by every instance's tabs."""

from __future__ import annotations

import pytest

from chathub.models import CannedScope
from chathub.schemas import CannedResponseIn, CannedResponsePatch
from chathub.services import agents, canned_responses
from chathub.services.canned_responses import fill_variables
from tests.helpers.waiting import eventually
from tests.services.test_live_relay import another_instance, arrived, heard


@pytest.mark.parametrize(
    "content, filled",
    [
        ("Hi {{customer.first_name}}, {{agent.name}} here.", "Hi Maria, Bob Stone here."),
        ("Dear {{ customer.name }},", "Dear Maria Lopez,"),
        ("{{customer.email}} and {{unknown}} stay", "{{customer.email}} and {{unknown}} stay"),
        ("{{customer.first_name}}", "Maria"),
    ],
)
def test_variables_are_filled_in_and_unknown_ones_stay_as_typed(content, filled):
    assert fill_variables(content, customer_name="Maria Lopez", agent_name="Bob Stone") == filled


def test_a_one_word_name_is_also_the_first_name():
    assert fill_variables("Hi {{customer.first_name}}", customer_name="+15550001", agent_name="Bob") == "Hi +15550001"


async def test_a_change_on_one_instance_reaches_the_other_instances_tabs_with_its_owner(on_postgresql, client, auth):
    admin = await agents.agent_for_token(auth["Authorization"].removeprefix("Bearer "))
    async with another_instance() as other:
        changes = heard(other.canned_responses_changed)
        team = await canned_responses.create_canned_response(
            admin, CannedResponseIn(short_code="refund", content="On its way", scope=CannedScope.team)
        )
        await eventually(arrived(changes))
        await canned_responses.create_canned_response(admin, CannedResponseIn(short_code="mine", content="Mine"))
        await eventually(arrived(changes, lambda change: change.owner_id == admin.id))
        await canned_responses.update_canned_response(admin, team.id, CannedResponsePatch(content="Sent"))
        await canned_responses.delete_canned_response(admin, team.id)

        async def all_four() -> bool:
            return len(changes) >= 4

        await eventually(all_four)
    assert [change.owner_id for change in changes] == [None, admin.id, None, None]
