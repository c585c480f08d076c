"""Who sees what: the one rule, for every list, detail, file and live event.

An agent whose `sees` is `mine_and_unassigned` sees the conversations assigned to them and the unassigned
ones; everyone else, and every admin, sees all. What belongs to a conversation follows it: its messages and
their files are seen with it, and a customer is seen when at least one of their conversations is. What an agent
may not see does not exist for them: the same NotFound, with the same sentence, as for a row never stored.

- `sees_all(agent)`: nothing to check (no query, no condition).
- `may_see(agent, conversation)`: for one conversation (a row or a `ConversationOut`) already in hand, such as
  a live event's payload; no query.
- `conversation_condition(agent)`, `customer_condition(agent)`: WHERE conditions for queries of conversations
  and of customers (`sa.true()` for an agent who sees all); join `conversation` to use the first on other rows
  (a notification, a label of a conversation). `limited_condition(agent_id)` is the limited agent's case.
- `require_conversation`, `require_message`, `require_customer`: raise NotFound when the row is missing or
  hidden from the agent; no query for an agent who sees all.
- `visible_agent_ids(agents, conversation)`: the ids of those of these agents who may see this conversation
  (whom to tell about it: mentions, notifications, the @ list).
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from sqlmodel import col, select

from chathub import db
from chathub.models import Agent, AgentRole, Conversation, Customer, Message, Visibility
from chathub.services.errors import NotFound


class Assigned(Protocol):
    assignee_id: int | None


def sees_all(agent: Agent) -> bool:
    return agent.role == AgentRole.admin or agent.sees != Visibility.mine_and_unassigned


def may_see(agent: Agent, conversation: Assigned) -> bool:
    return sees_all(agent) or conversation.assignee_id in (None, agent.id)


def conversation_condition(agent: Agent) -> sa.ColumnElement[bool]:
    """On `conversation`: those the agent sees."""
    return sa.true() if sees_all(agent) else limited_condition(agent.id)


def limited_condition(agent_id: int) -> sa.ColumnElement[bool]:
    """On `conversation`: assigned to this agent, or to nobody. Spelt as one test per row on purpose: as
    `assignee_id = ? OR assignee_id IS NULL` SQLite read both assignee ranges whole and sorted them for every
    page (112 ms a page with 11k of 100k conversations visible); this way it walks the inbox's own indexes in
    order and stops at a page (1.7 ms)."""
    return sa.func.coalesce(Conversation.assignee_id, agent_id) == agent_id


def customer_condition(agent: Agent) -> sa.ColumnElement[bool]:
    """On `customer`: at least one of their conversations is visible."""
    if sees_all(agent):
        return sa.true()
    visible = select(Conversation.customer_id).where(conversation_condition(agent))
    return col(Customer.id).in_(visible)


async def require_conversation(agent: Agent, conversation_id: int) -> None:
    if sees_all(agent):
        return
    async with db.read_session() as session:
        conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not may_see(agent, conversation):
        raise NotFound(f"conversation {conversation_id} does not exist")


async def require_message(agent: Agent, message_id: int, missing: str = "message {id} does not exist") -> None:
    """`missing` is the caller's own sentence for a message it cannot find, so a hidden one reads the same."""
    if sees_all(agent):
        return
    async with db.read_session() as session:
        conversation = (
            await session.exec(
                select(Conversation)
                .join(Message, col(Message.conversation_id) == Conversation.id)
                .where(Message.id == message_id)
            )
        ).first()
    if conversation is None or not may_see(agent, conversation):
        raise NotFound(missing.format(id=message_id))


async def require_customer(agent: Agent, customer_id: int) -> None:
    if sees_all(agent):
        return
    async with db.read_session() as session:
        visible = (
            await session.exec(select(Customer.id).where(Customer.id == customer_id, customer_condition(agent)))
        ).first()
    if visible is None:
        raise NotFound(f"customer {customer_id} does not exist")


def visible_agent_ids(agents: list[Agent], conversation: Assigned) -> list[int]:
    """Of these agents, the ids of those who may see this conversation."""
    return [agent.id for agent in agents if may_see(agent, conversation)]
