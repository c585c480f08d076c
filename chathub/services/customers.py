"""Customers and the identities they write from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from chathub import db
from chathub.auth import email_problem
from chathub.models import Agent, Conversation, Customer, CustomerIdentity, new_row, utcnow
from chathub.schemas import CustomerOut, CustomerPatch, IdentityOut, Page
from chathub.services import visibility
from chathub.services.errors import NotFound, ValidationFailed, require_row_id
from chathub.services.paging import clamp_limit, decode_cursor, encode_cursor


async def match_customer(
    session: AsyncSession,
    *,
    channel_id: int,
    external_id: str,
    name: str | None = None,
    phone: str | None = None,
    aliases: tuple[str, ...] = (),
    found: tuple[CustomerIdentity, Customer] | None = None,
) -> tuple[Customer, CustomerIdentity]:
    """The customer behind (channel, external id), created on first contact. Safe under concurrency:
    the unique identity constraint decides, and a loser of the race reads the winner's row. `aliases` are
    the sender's other stable ids: one of them known already finds the same customer and conversation.
    `found` is the sender's identity when the caller has looked it up already."""
    if found is None:
        found = await _identity_with_customer(session, channel_id, external_id)
    for alias in aliases:
        if found is not None:
            break
        found = await _identity_with_customer(session, channel_id, alias)
    if found is None and not db.is_sqlite():  # another instance may be making this sender right now
        made = await create_customers(session, channel_id, [(external_id, name, phone)])
        found = made.get(external_id) or await _identity_with_customer(session, channel_id, external_id)
        if external_id in made:
            await _remember_aliases(session, found[0], aliases)
            return found[1], found[0]
    if found is None:
        try:
            async with session.begin_nested():
                customer = _new_customer(external_id, name, phone)
                session.add(customer)
                await session.flush()
                identity = CustomerIdentity(customer_id=customer.id, channel_id=channel_id, external_id=external_id)
                session.add(identity)
                await session.flush()
            await _remember_aliases(session, identity, aliases)
            return customer, identity
        except IntegrityError:
            found = await _identity_with_customer(session, channel_id, external_id)
            if found is None:
                raise
    identity, customer = found
    await _remember_aliases(session, identity, aliases)
    if name and customer.name in (external_id, customer.phone) and name != customer.name:
        customer.name = name  # a real name replaces the placeholder we made from the number
        customer.updated_at = utcnow()
        session.add(customer)
    return customer, identity


async def _remember_aliases(session: AsyncSession, identity: CustomerIdentity, aliases: tuple[str, ...]) -> None:
    """Record the sender's other ids as identities of the same customer (once), so a message that carries
    only one of them later is still theirs."""
    for alias in aliases:
        if alias == identity.external_id or await _identity_with_customer(session, identity.channel_id, alias):
            continue
        try:
            async with session.begin_nested():
                session.add(
                    CustomerIdentity(
                        customer_id=identity.customer_id, channel_id=identity.channel_id, external_id=alias
                    )
                )
                await session.flush()
        except IntegrityError:
            pass  # another message recorded it first


async def _identity_with_customer(session: AsyncSession, channel_id: int, external_id: str):
    return (
        await session.exec(
            select(CustomerIdentity, Customer)
            .join(Customer, Customer.id == CustomerIdentity.customer_id)
            .where(CustomerIdentity.channel_id == channel_id, CustomerIdentity.external_id == external_id)
        )
    ).first()


def _new_customer(external_id: str, name: str | None, phone: str | None) -> Customer:
    return new_row(Customer, name=name or phone or external_id, phone=phone)


async def create_customers(
    session: AsyncSession, channel_id: int, senders: list[tuple[str, str | None, str | None]]
) -> dict[str, tuple[CustomerIdentity, Customer]]:
    """First-time senders (external id, name, phone) of one channel, made together: two statements, not a savepoint
    and two flushes each. On SQLite (writes serialised) a clash fails the caller's transaction. On PostgreSQL
    another instance may make the same sender at the same moment: the unique identity decides
    (`ON CONFLICT DO NOTHING`), and a sender made elsewhere is left out of the answer for the caller to read."""
    # every instance takes the identities' unique keys in one order: no deadlock between two batches
    senders = sorted(senders, key=lambda sender: sender[0])
    customers = {external_id: _new_customer(external_id, name, phone) for external_id, name, phone in senders}
    await db.insert_rows(session, list(customers.values()), attach=True)
    identities = {
        external_id: new_row(CustomerIdentity, customer_id=customer.id, channel_id=channel_id, external_id=external_id)
        for external_id, customer in customers.items()
    }
    if db.is_sqlite():
        await db.insert_rows(session, list(identities.values()), attach=True)
    else:
        await _insert_identities_unless_taken(session, identities)
        for external_id in [e for e, identity in identities.items() if identity.id is None]:
            await session.delete(customers.pop(external_id))  # made elsewhere: this duplicate is never used
        await session.flush()
    return {external_id: (identities[external_id], customers[external_id]) for external_id in customers}


async def _insert_identities_unless_taken(session: AsyncSession, identities: dict[str, CustomerIdentity]) -> None:
    """Insert the identities on PostgreSQL, skipping those another transaction holds (waiting for it to end first);
    the inserted ones get their ids and join the session."""
    columns = [column.key for column in CustomerIdentity.__table__.columns if column.key != "id"]
    statement = (
        postgresql.insert(CustomerIdentity.__table__)
        .on_conflict_do_nothing(index_elements=["channel_id", "external_id"])
        .returning(CustomerIdentity.__table__.c.id, CustomerIdentity.__table__.c.external_id)
    )
    rows = [{key: getattr(identity, key) for key in columns} for identity in identities.values()]
    connection = await session.connection()
    for row_id, external_id in (await connection.execute(statement, rows)).all():
        identity = identities[external_id]
        identity.id = row_id
        make_transient_to_detached(identity)
        session.add(identity)


async def identities_with_customers(
    session: AsyncSession, channel_id: int, external_ids: list[str]
) -> dict[str, tuple[CustomerIdentity, Customer]]:
    """Many senders of one channel at once, by external id (those never seen are absent)."""
    rows = await session.exec(_identities_by_external_id(), params={"channel": channel_id, "ids": external_ids})
    return {identity.external_id: (identity, customer) for identity, customer in rows}


@cache
def _identities_by_external_id():  # built once: a webhook batch runs it, and building costs more than running
    return (
        select(CustomerIdentity, Customer)
        .join(Customer, Customer.id == CustomerIdentity.customer_id)
        .where(
            CustomerIdentity.channel_id == bindparam("channel"),
            col(CustomerIdentity.external_id).in_(bindparam("ids", expanding=True)),
        )
    )


async def list_customers(
    *, q: str | None = None, limit: int | None = None, cursor: str | None = None, viewer: Agent | None = None
) -> Page[CustomerOut]:
    """Newest first; only those `viewer` may see (None: everyone)."""
    limit = clamp_limit(limit)
    query = select(Customer).order_by(col(Customer.id).desc()).limit(limit + 1)
    if viewer is not None:
        query = query.where(visibility.customer_condition(viewer))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(
            or_(col(Customer.name).ilike(like), col(Customer.phone).ilike(like), col(Customer.email).ilike(like))
        )
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        query = query.where(Customer.id < int(last_id))
    async with db.read_session() as session:
        customers = list((await session.exec(query)).all())
        more = len(customers) > limit
        customers = customers[:limit]
        identities = await _identities_of(session, [c.id for c in customers])
    items = [customer_out(c, identities.get(c.id, [])) for c in customers]
    return Page(items=items, next_cursor=encode_cursor(customers[-1].id) if more else None)


async def get_customer(customer_id: int) -> CustomerOut:
    require_row_id(customer_id, "customer")
    async with db.read_session() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        identities = await _identities_of(session, [customer_id])
    return customer_out(customer, identities.get(customer_id, []))


async def update_customer(customer_id: int, patch: CustomerPatch) -> CustomerOut:
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("email") and (problem := email_problem(changes["email"])):
        raise ValidationFailed(problem)
    if "name" in changes and (changes["name"] is None or not changes["name"].strip()):
        raise ValidationFailed("the name cannot be empty")
    async with db.write_session() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist")
        for key, value in changes.items():
            setattr(customer, key, value.strip() if isinstance(value, str) else value)
        customer.updated_at = utcnow()
        session.add(customer)
    return await get_customer(customer_id)


async def _identities_of(session: AsyncSession, customer_ids: list[int]) -> dict[int, list[CustomerIdentity]]:
    if not customer_ids:
        return {}
    rows = (
        await session.exec(
            select(CustomerIdentity)
            .where(col(CustomerIdentity.customer_id).in_(customer_ids))
            .order_by(CustomerIdentity.id)
        )
    ).all()
    grouped: dict[int, list[CustomerIdentity]] = {}
    for identity in rows:
        grouped.setdefault(identity.customer_id, []).append(identity)
    return grouped


def customer_out(customer: Customer, identities: list[CustomerIdentity]) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        phone=customer.phone,
        email=customer.email,
        notes=customer.notes,
        created_at=customer.created_at,
        identities=[IdentityOut(channel_id=i.channel_id, external_id=i.external_id) for i in identities],
    )


async def merge_customers(*, keep_id: int, duplicate_id: int) -> CustomerOut:
    """Move the duplicate's identities and conversations to the kept customer, fill the kept one's empty
    fields from it, join the notes, and delete the duplicate. Nothing else is lost."""
    if keep_id == duplicate_id:
        raise ValidationFailed("a customer cannot be merged into itself")
    async with db.write_session() as session:
        keep = await session.get(Customer, keep_id)
        duplicate = await session.get(Customer, duplicate_id)
        if keep is None or duplicate is None:
            raise NotFound(f"customer {keep_id if keep is None else duplicate_id} does not exist")
        for model in (CustomerIdentity, Conversation):
            await session.exec(update(model).where(model.customer_id == duplicate_id).values(customer_id=keep_id))
        keep.email = keep.email or duplicate.email
        keep.phone = keep.phone or duplicate.phone
        if duplicate.notes.strip():
            keep.notes = "\n\n".join(part for part in (keep.notes.strip(), duplicate.notes.strip()) if part)
        keep.updated_at = utcnow()
        session.add(keep)
        await session.delete(duplicate)
    return await get_customer(keep_id)


# ---- the customers page: search, sort, offset paging; merge preview ----

CUSTOMER_SORTS = {
    "newest": (col(Customer.created_at).desc(), col(Customer.id).desc()),
    "oldest": (col(Customer.created_at).asc(), col(Customer.id).asc()),
    "name": (func.lower(Customer.name).asc(), col(Customer.id).asc()),
    "name_desc": (func.lower(Customer.name).desc(), col(Customer.id).desc()),
}


@dataclass(frozen=True)
class CustomerListing:
    items: list[CustomerOut]
    total: int
    offset: int
    limit: int


def _matching(q: str | None):
    """Customers whose name, phone or email contains `q` (taken literally: % and _ match themselves)."""
    text = (q or "").strip()
    if not text:
        return None
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(col(field).ilike(like, escape="\\") for field in (Customer.name, Customer.phone, Customer.email)))


async def browse_customers(
    *,
    q: str | None = None,
    sort: str = "newest",
    limit: int | None = None,
    offset: int = 0,
    viewer: Agent | None = None,
) -> CustomerListing:
    """One page of customers for a table: searched, sorted and counted (offset paging, so a page number
    can be shown; the list is capped at MAX_LIMIT rows a page); only those `viewer` may see (None: everyone)."""
    if sort not in CUSTOMER_SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(CUSTOMER_SORTS)}")
    if offset < 0:
        raise ValidationFailed("offset cannot be negative")
    limit = clamp_limit(limit)
    seen = None if viewer is None else visibility.customer_condition(viewer)
    conditions = [condition for condition in (_matching(q), seen) if condition is not None]
    query = select(Customer).where(*conditions).order_by(*CUSTOMER_SORTS[sort]).offset(offset).limit(limit)
    counting = select(func.count()).select_from(Customer).where(*conditions)
    async with db.read_session() as session:
        total = (await session.exec(counting)).one()
        rows = list((await session.exec(query)).all())
        identities = await _identities_of(session, [c.id for c in rows])
    return CustomerListing(
        items=[customer_out(c, identities.get(c.id, [])) for c in rows], total=total, offset=offset, limit=limit
    )


@dataclass(frozen=True)
class MergePreview:
    """What `merge_customers(keep_id=keep.id, duplicate_id=duplicate.id)` would do."""

    keep: CustomerOut
    duplicate: CustomerOut
    conversation_count: int
    filled_fields: list[str]  # the kept customer's empty fields the duplicate's values fill
    notes_joined: bool


async def merge_preview(*, keep_id: int, duplicate_id: int) -> MergePreview:
    if keep_id == duplicate_id:
        raise ValidationFailed("a customer cannot be merged into itself")
    keep = await get_customer(keep_id)
    duplicate = await get_customer(duplicate_id)
    async with db.read_session() as session:
        conversation_count = (
            await session.exec(
                select(func.count()).select_from(Conversation).where(Conversation.customer_id == duplicate_id)
            )
        ).one()
    filled = [field for field in ("email", "phone") if not getattr(keep, field) and getattr(duplicate, field)]
    return MergePreview(
        keep=keep,
        duplicate=duplicate,
        conversation_count=conversation_count,
        filled_fields=filled,
        notes_joined=bool(duplicate.notes.strip()),
    )
