"""The rule itself, on rows in hand: a limited agent sees their own and unassigned conversations, admins and
everyone else see all, and whom to tell about a conversation leaves out those who may not see it."""

from __future__ import annotations

from chathub.models import Agent, AgentRole, Conversation, Visibility
from chathub.services import visibility


def agent(agent_id: int, *, role: AgentRole = AgentRole.agent, sees: Visibility = Visibility.all) -> Agent:
    return Agent(id=agent_id, email=f"{agent_id}@example.com", name="A", password_hash="", role=role, sees=sees)


LIMITED = agent(3, sees=Visibility.mine_and_unassigned)


def test_a_limited_agent_sees_their_own_and_unassigned_conversations_only():
    assert visibility.may_see(LIMITED, Conversation(assignee_id=3))
    assert visibility.may_see(LIMITED, Conversation(assignee_id=None))
    assert not visibility.may_see(LIMITED, Conversation(assignee_id=2))


def test_admins_see_all_whatever_their_setting_and_so_do_agents_who_see_all():
    admin = agent(1, role=AgentRole.admin, sees=Visibility.mine_and_unassigned)
    for everyone in (admin, agent(2)):
        assert visibility.sees_all(everyone)
        assert visibility.may_see(everyone, Conversation(assignee_id=3))


def test_whom_to_tell_leaves_out_agents_who_may_not_see_the_conversation():
    team = [agent(1, role=AgentRole.admin), agent(2), LIMITED, agent(4, sees=Visibility.mine_and_unassigned)]
    assert visibility.visible_agent_ids(team, Conversation(assignee_id=3)) == [1, 2, 3]
    assert visibility.visible_agent_ids(team, Conversation(assignee_id=2)) == [1, 2]
