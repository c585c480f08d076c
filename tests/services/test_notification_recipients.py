"""Who may be told of a conversation: nobody hears of one they may not open (issue 21, point 7)."""

from __future__ import annotations

from chathub.models import Agent, AgentRole, Conversation, Visibility
from chathub.services.visibility import may_see


def agent(agent_id: int, *, role: AgentRole = AgentRole.agent, sees: Visibility = Visibility.all) -> Agent:
    return Agent(id=agent_id, email=f"{agent_id}@example.com", name="A", role=role, password_hash="-", sees=sees)


def test_a_limited_follower_is_not_told_of_a_conversation_assigned_to_someone_else():
    limited = agent(2, sees=Visibility.mine_and_unassigned)
    assert not may_see(limited, Conversation(customer_id=1, channel_id=1, assignee_id=3))
    assert may_see(limited, Conversation(customer_id=1, channel_id=1, assignee_id=2))
    assert may_see(limited, Conversation(customer_id=1, channel_id=1, assignee_id=None))


def test_admins_and_agents_who_see_all_are_told_of_any_conversation():
    conversation = Conversation(customer_id=1, channel_id=1, assignee_id=3)
    assert may_see(agent(2), conversation)
    assert may_see(agent(2, role=AgentRole.admin, sees=Visibility.mine_and_unassigned), conversation)
