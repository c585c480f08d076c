"""Inbox search: which conversations match what an agent typed.

Message text is searched through a word index of `message.content`: on SQLite `message_fts`, an FTS5 index
(migration 0004; its triggers keep it current), on PostgreSQL a GIN index over `to_tsvector` with the
`chathub_search` configuration, which strips accents with `unaccent` (migration 0011). Either way: the words as
typed, in that order, case and accents ignored, the last word also as a beginning ("parc" finds "parcel"). What
the agent types becomes one quoted FTS5 phrase, or a tsquery of its letters and digits only joined by `<->`, so
`"`, `*`, `OR`, `NEAR(`, `!`, `&` and the like are plain text, never query syntax. Customer names and phone
numbers are matched with LIKE (literally: `%` and `_` match themselves). Input without any letter or digit
(`%`, `?!`) has no words for the index, and falls back to LIKE over message text: correct, but it reads every
message.

Two plans for the messages, picked by how many match (the index counts that in a few ms):
- few matches: look up each matching message's conversation (one primary-key read each);
- many matches: walk the inbox in its own order and keep the conversations that hold a match (the match list
  is built once); hits come quickly then, and 100k lookups (a common word) are never made. Its worst case is a
  word frequent in a few huge threads only: then the walk reads every conversation's message ids.
Either way the inbox's own order and keyset paging are kept. Customer matches join as a set of conversation ids,
so the walk reads index entries only.

For the page of results, `match_snippets` finds each conversation's latest matching message and where the words
are in it: offsets computed here, in Python, as FTS5 matched them (never FTS5's highlight() markers, which customer
text could forge), for the inbox to draw as text.
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from sqlmodel import col, select

from chathub.models import Conversation, Customer, Message
from chathub.schemas import SearchMatch

# Up to this many matching messages their conversations are looked up one by one; above, the inbox is walked.
# Looking up costs per match, walking per conversation passed before a page is full: on the bench's 1M messages
# (bench/large_inbox.py) both are a few ms around here.
LOOKUP_LIMIT = 5000
PREFIX_MIN_LENGTH = 3  # "parc" finds "parcel"; shorter beginnings would expand to most of the vocabulary

LAST_WORD = re.compile(r"[^\W_]*$")  # the letters and digits the text ends with
WORD = re.compile(r"[^\W_]+")  # a word as FTS5's unicode61 tokenizer cuts it: letters and digits
SNIPPET_LEAD = 16  # characters kept before the first match: the row shows about forty
SNIPPET_LENGTH = 120
message_fts = sa.table("message_fts", sa.column("rowid"))  # not a model: Alembic must not manage it
# PostgreSQL (migration 0011): the GIN index is over this very expression, so a query must spell it so
SEARCH_CONFIGURATION = sa.literal_column("'chathub_search'::regconfig")


def fts_phrase(text: str) -> str | None:
    """What the agent typed as one FTS5 phrase (quotes doubled, so nothing in it is syntax), its last word
    also matched as a beginning; None when it holds no word FTS5 could index."""
    text = " ".join(text.split())
    if not any(character.isalnum() for character in text):
        return None
    phrase = '"' + text.replace('"', '""') + '"'
    last_word = LAST_WORD.search(text).group()
    return phrase + " *" if len(last_word) >= PREFIX_MIN_LENGTH else phrase


def ts_phrase(text: str) -> str | None:
    """What the agent typed as a PostgreSQL tsquery: its words (letters and digits only, so nothing in it is
    syntax), each right after the one before (`<->`), the last also as a beginning (`:*`); None without words."""
    words = WORD.findall(text)
    if not words:
        return None
    last_word = LAST_WORD.search(" ".join(text.split())).group()
    query = " <-> ".join(words)
    return query + ":*" if len(last_word) >= PREFIX_MIN_LENGTH else query


def words_query(text: str, *, sqlite: bool) -> str | None:
    """What the agent typed as a query of the database's word index; None when it holds no word to look up."""
    return fts_phrase(text) if sqlite else ts_phrase(text)


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's own wildcards escaped (use with escape="\\")."""
    return "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _contains(column, pattern: str, sqlite: bool):
    # SQLite's LIKE ignores ASCII case already (as its lower() does, so ILIKE adds only a lower() per row)
    return col(column).like(pattern, escape="\\") if sqlite else col(column).ilike(pattern, escape="\\")


def _matching_ids(query: str, sqlite: bool):
    """The ids of the messages whose words match `query` (see `words_query`)."""
    if sqlite:
        return select(message_fts.c.rowid).where(sa.literal_column("message_fts").match(query))
    matched = Message.__table__.alias("matched")  # an alias: never correlated with an outer `message`
    words = sa.func.to_tsvector(SEARCH_CONFIGURATION, matched.c.content)
    return select(matched.c.id).where(words.op("@@")(sa.func.to_tsquery(SEARCH_CONFIGURATION, query)))


async def match_count(session, query: str, sqlite: bool) -> int:
    return (await session.exec(select(sa.func.count()).select_from(_matching_ids(query, sqlite).subquery()))).one()


async def matching_condition(session, q: str, *, sqlite: bool):
    """A WHERE condition on `conversation` (built with `session`: it counts the word index's matches first)."""
    q = q.replace("\x00", "")  # SQLite's LIKE stops reading at a NUL: "%\x00%" would match everything
    if not q.strip():
        return sa.false()
    pattern = like_pattern(q)
    by_customer = select(Conversation.id).where(
        col(Conversation.customer_id).in_(
            select(Customer.id).where(
                sa.or_(_contains(Customer.name, pattern, sqlite), _contains(Customer.phone, pattern, sqlite))
            )
        )
    )
    # `id + 0`: the id stays a filter on the walk in inbox order; as a bare `id IN (...)` SQLite would rather
    # fetch every match by id and sort them all.
    walked_id = col(Conversation.id) + 0
    phrase = words_query(q, sqlite=sqlite)
    if phrase is None:  # no words: LIKE over message text
        by_text = select(Message.conversation_id).where(_contains(Message.content, pattern, sqlite))
        return walked_id.in_(sa.union_all(by_customer, by_text))
    if await match_count(session, phrase, sqlite) <= LOOKUP_LIMIT:
        by_text = select(Message.conversation_id).where(col(Message.id).in_(_matching_ids(phrase, sqlite)))
        return walked_id.in_(sa.union_all(by_customer, by_text))
    # `message.id + 0`: read the conversation's own message ids and test each against the match list (built
    # once), rather than run through the whole match list for every conversation.
    holds_a_match = (
        select(sa.literal(1))
        .where(Message.conversation_id == Conversation.id, (col(Message.id) + 0).in_(_matching_ids(phrase, sqlite)))
        .exists()
    )
    return sa.or_(walked_id.in_(by_customer), holds_a_match)


async def match_snippets(session, q: str, conversation_ids: list[int], *, sqlite: bool) -> dict[int, SearchMatch]:
    """For each of these conversations that holds a message matching `q`: its latest such message, cut to the
    part around the match, and where the matched words are."""
    q = q.replace("\x00", "")
    phrase = words_query(q, sqlite=sqlite)
    if not conversation_ids or not q.strip():
        return {}
    matching = (
        col(Message.id).in_(_matching_ids(phrase, sqlite))
        if phrase
        else _contains(Message.content, like_pattern(q), sqlite)
    )
    latest = (
        select(sa.func.max(Message.id))
        .where(col(Message.conversation_id).in_(conversation_ids), matching)
        .group_by(Message.conversation_id)
    )
    rows = await session.exec(
        select(Message.conversation_id, Message.id, Message.content).where(col(Message.id).in_(latest))
    )
    snippets = {conversation_id: snippet(message_id, content, q) for conversation_id, message_id, content in rows}
    return {conversation_id: match for conversation_id, match in snippets.items() if match is not None}


def snippet(message_id: int, content: str, q: str) -> SearchMatch | None:
    """The text (whitespace collapsed, as in previews) from a little before its first match."""
    text = " ".join(content.split())
    spans = highlights(text, q)
    if not spans:
        return None
    start = max(0, spans[0][0] - SNIPPET_LEAD)
    if start:  # begin at a word
        space = text.find(" ", start, spans[0][0])
        start = space + 1 if space >= 0 else spans[0][0]
    end = min(len(text), start + SNIPPET_LENGTH)
    lead = "…" if start else ""
    shift = len(lead) - start
    return SearchMatch(
        message_id=message_id,
        snippet=lead + text[start:end] + ("…" if end < len(text) else ""),
        highlights=[(max(a, start) + shift, min(b, end) + shift) for a, b in spans if a < end],
    )


def highlights(text: str, q: str) -> list[tuple[int, int]]:
    """Where `q` occurs in `text` as the search matched it: its words in order, case and accents ignored, the
    last word also as a beginning; or, where no such run is found (input without words), the input itself,
    case ignored. `[start, end)` offsets."""
    words = [_folded(word) for word in WORD.findall(q)]
    spans = _word_runs(text, words, prefix=len(LAST_WORD.search(q.strip()).group()) >= PREFIX_MIN_LENGTH)
    return spans or _literal(text, q.strip())


def _word_runs(text: str, words: list[str], *, prefix: bool) -> list[tuple[int, int]]:
    if not words:
        return []
    tokens = [(m.start(), m.end(), _folded(m.group())) for m in WORD.finditer(text)]
    *leading, last = words
    spans, i = [], 0
    while i + len(words) <= len(tokens):
        run = tokens[i : i + len(words)]
        if [token for _, _, token in run[:-1]] == leading and (
            run[-1][2].startswith(last) if prefix else run[-1][2] == last
        ):
            spans.append((run[0][0], run[-1][1]))
            i += len(words)
        else:
            i += 1
    return spans


def _literal(text: str, needle: str) -> list[tuple[int, int]]:
    haystack, needle = text.lower(), needle.lower()
    if not needle or len(haystack) != len(text):  # lowercasing moved the offsets: no highlight rather than a wrong one
        return []
    spans, at = [], haystack.find(needle)
    while at >= 0:
        spans.append((at, at + len(needle)))
        at = haystack.find(needle, at + len(needle))
    return spans


def _folded(word: str) -> str:
    """Case and accents ignored, as the index's `remove_diacritics` does: "Crème" -> "creme"."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c)).casefold()
