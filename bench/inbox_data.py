"""Fill a fresh ChatHub database with a large, realistic inbox, fast.

    python bench/inbox_data.py /tmp/big-inbox                  # 100k customers/conversations, 1M messages
    python bench/inbox_data.py /tmp/small --customers 2000 --messages 20000 --big-threads 2 --big-size 1000

The schema comes from ChatHub itself (`bootstrap.prepare_database`: the Alembic migrations, the default
simulator channel, the bench admin), so the FTS index and its triggers are the real ones. The rows go in with
plain sqlite3: `executemany` in a few big transactions, `synchronous=OFF` for the fill only. Text is built from
customer-support templates with order numbers, tracking codes, products and places, so searches hit a
realistic vocabulary: a few very common words ("order", "thanks"), many rare ones. Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import BENCH_EMAIL, BENCH_PASSWORD  # noqa: E402  (the admin every bench signs in as)

FIRST = (
    "Ann Bob Cy Dana Eve Finn Gus Hana Ivo Jana Karl Lena Mia Nils Olga Paul Quinn Rosa Sam Tina Uwe Vera "
    "Walt Xena Yusuf Zoe Amir Bea Chen Dario Elif Femi Greta Hugo Ines Jonas Kemal Lars Maya Nora Omar Pia "
    "Raj Sofia Timo Ulla Viktor Wanda Yara Zeno Aiko Bruno Clara Diego Emma Farid Gina Hector Iris Jasper "
    "Kira Leon Marta Noah Oskar Petra Rafael Selma Theo Ugo Valentina Willem Ximena Yannick Zara"
).split()
LAST = (
    "Lee Smith Meyer Rossi Novak Silva Kim Tanaka Okafor Schmidt Dubois Jansen Costa Nowak Yilmaz Haddad "
    "Garcia Berg Larsen Moreau Fischer Romano Santos Kowalski Popescu Horvat Ivanova Nielsen Weber Ricci "
    "Fernandes Petrov Andersen Laurent Vogel Conti Oliveira Svoboda Demir Nasser Lopez Lund Holm Bernard "
    "Wagner Bruno Pereira Mazur Sahin Aziz Ortiz Dahl Koch Martin Gallo Alves Wojcik Kaya Rahman"
).split()
PRODUCTS = (
    "headphones kettle backpack lamp blender jacket sneakers charger keyboard monitor toaster umbrella "
    "watch speaker tent camera mattress chair desk bicycle helmet scarf sofa drill router printer "
    "vacuum jeans dress suitcase guitar tablet phone case mixer heater fan pillow blanket mug teapot "
    "skateboard stroller scooter kayak grill juicer razor perfume wallet sunglasses"
).split()
COLORS = "black white red blue green grey navy beige pink yellow silver olive".split()
CITIES = (
    "Berlin Lisbon Madrid Paris Vienna Prague Warsaw Oslo Dublin Milan Athens Zurich Lyon Porto Krakow "
    "Hamburg Munich Rotterdam Antwerp Valencia Seville Naples Turin Bergen Malmo Tallinn Riga Vilnius "
    "Budapest Ljubljana Zagreb Sofia Bucharest Helsinki Copenhagen Brussels Geneva Bologna Graz"
).split()
CARRIERS = "DHL UPS FedEx GLS DPD PostNL Hermes Colissimo".split()
MONTHS = "January February March April May June July August September October November December".split()
CUSTOMER_LINES = [
    "Hi, my order #{order} hasn't arrived yet. Can you check?",
    "Where is my parcel? The tracking {tracking} has not moved for days",
    "I would like a refund for the {product}, it stopped working",
    "The {product} I bought last week is broken",
    "Can I change the delivery address to {street} in {city}?",
    "Thanks, that worked!",
    "Do you ship to {city}?",
    "My {product} arrived damaged, the box was open",
    "How long does delivery to {city} usually take?",
    "I was charged twice for order {order}",
    "Is the {product} available in {color}?",
    "Please cancel my subscription",
    "I can't log in to my account, the password reset mail never comes",
    "The invoice for {month} is missing from my account",
    "Hello?",
    "ok",
    "Can I pay with bank transfer for order {order}?",
    "The {color} {product} looks different from the photo",
    "Do you have a store in {city}?",
    "I got the wrong size, can I exchange the {product}?",
    "When will the {product} be back in stock?",
    "Great service, thank you so much",
    "Still waiting for an answer about my refund",
    "The courier left the parcel at the wrong door",
    "Is there a discount code for students?",
]
AGENT_LINES = [
    "Hello {name}, thanks for reaching out! Let me check that for you.",
    "I've issued a refund of {amount} EUR, it takes 3-5 business days.",
    "Your parcel is with {carrier}, tracking number {tracking}.",
    "Could you send a photo of the damage, please?",
    "We ship to {city}, delivery takes 2-4 days.",
    "I've changed the address on order {order} for you.",
    "Sorry for the wait! A replacement {product} is on its way.",
    "The {product} in {color} is back in stock next week.",
    "I've sent a new password reset link to your email.",
    "You're welcome, have a nice day!",
    "I can see the double charge on order {order}; the second one is cancelled.",
    "Your subscription is cancelled; you keep access until the end of {month}.",
]
STATUS_WEIGHTS = {"open": 40, "pending": 10, "resolved": 45, "snoozed": 5}
EXTRA_CHANNELS = [
    ("telegram", "Telegram support bot", {"bot_token": "123456:bench-token", "secret_token": "bench-secret"}),
    (
        "whatsapp",
        "WhatsApp shop",
        {
            "phone_number_id": "1234567890",
            "access_token": "bench-token",
            "app_secret": "bench-app-secret",
            "verify_token": "bench-verify",
        },
    ),
    (
        "twilio",
        "SMS line",
        {"account_sid": "AC" + "0" * 32, "auth_token": "bench-token", "from_number": "+15550000000"},
    ),
]


@dataclass
class FillResult:
    customers: int
    conversations: int
    messages: int
    big_threads: list[int]
    seconds: float
    rows_per_second: float
    database_mib: float
    channels: dict[str, int]


def snooze_end(rng: random.Random, now: datetime) -> str:
    """Later than now, as in an inbox that is running: ChatHub reopens a due snooze within 30 s. (With due ones,
    the first snooze job on the filled database woke thousands of conversations at once: not a steady state.)"""
    return _stamp(now + timedelta(seconds=rng.randint(3600, 7 * 86400)))


def _stamp(moment: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text (naive UTC, always with microseconds): keyset cursors compare it."""
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond:06d}"


class TextMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fill(self, template: str, name: str) -> str:
        r = self.rng
        if "{" not in template:
            return template
        return template.format(
            order=r.randint(100000, 999999),
            tracking=f"{r.choice(CARRIERS)[:2].upper()}{r.randint(10**8, 10**9)}",
            product=r.choice(PRODUCTS),
            street=f"{r.choice(LAST)}straße {r.randint(1, 120)}",
            city=r.choice(CITIES),
            color=r.choice(COLORS),
            month=r.choice(MONTHS),
            name=name.split()[0],
            amount=f"{r.randint(5, 400)}.{r.randint(0, 99):02d}",
            carrier=r.choice(CARRIERS),
        )

    def customer(self, name: str) -> str:
        return self.fill(self.rng.choice(CUSTOMER_LINES), name)

    def agent(self, name: str) -> str:
        return self.fill(self.rng.choice(AGENT_LINES), name)


def thread_sizes(rng: random.Random, conversations: int, messages: int, big_threads: int, big_size: int) -> list[int]:
    """Messages per conversation: `big_threads` of `big_size`, the rest spread around the average (>= 1)."""
    sizes = [big_size] * big_threads + [1] * (conversations - big_threads)
    left = messages - sum(sizes)
    if left < 0:
        raise SystemExit("--messages is too small for the threads asked for")
    small = conversations - big_threads
    for _ in range(left):  # cheap and spread: add one at a time to random small threads
        sizes[big_threads + int(rng.random() ** 1.6 * small)] += 1  # skewed: some long threads, many short
    return sizes


def fill(
    data_dir: Path,
    *,
    customers: int = 100_000,
    messages: int = 1_000_000,
    big_threads: int = 5,
    big_size: int = 10_000,
    seed: int = 7,
    quiet: bool = False,
) -> FillResult:
    """Create the database under `data_dir` (which must not hold one yet) and fill it."""
    from chathub import bootstrap
    from chathub.auth import hash_password
    from chathub.drivers import DRIVERS
    from chathub.services.conversations import PREVIEW_LENGTH
    from chathub.settings import Settings

    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / "chathub.db"
    if database.exists():
        raise SystemExit(f"{database} exists already: fill a fresh folder")
    started = time.perf_counter()
    settings = Settings(data_dir=data_dir, admin_email=BENCH_EMAIL, admin_password=BENCH_PASSWORD)
    bootstrap.prepare_database(settings)  # the Alembic schema, the simulator channel, the admin
    rng = random.Random(seed)
    text = TextMaker(rng)
    connection = sqlite3.connect(database, isolation_level=None)
    # no WAL while filling: nothing reads the file meanwhile, and WAL wrote every page twice (13 % slower)
    for pragma in ("journal_mode=MEMORY", "synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY"):
        connection.execute(f"PRAGMA {pragma}")
    now = datetime.now(UTC).replace(tzinfo=None)

    def log(what: str) -> None:
        if not quiet:
            print(f"  {time.perf_counter() - started:6.1f} s  {what}", file=sys.stderr, flush=True)

    connection.execute("BEGIN")
    channel_ids = {
        "simulator": connection.execute(
            "SELECT id FROM channel WHERE type = 'simulator' ORDER BY id LIMIT 1"
        ).fetchone()[0]
    }
    for channel_type, name, config in EXTRA_CHANNELS:
        try:
            config = DRIVERS[channel_type].validate_config(config)
        except (ValueError, KeyError):
            channel_type, config = "simulator", DRIVERS["simulator"].validate_config({})
        channel_ids[name] = connection.execute(
            "INSERT INTO channel (type, name, enabled, config, api_base_url, created_at) VALUES (?, ?, 1, ?, ?, ?)",
            (channel_type, name, json.dumps(config), "http://127.0.0.1:9", _stamp(now)),
        ).lastrowid
    channel_list = list(channel_ids.values())
    password_hash = hash_password("bench-agent-password-1")
    agent_ids = [
        connection.execute(
            "INSERT INTO agent (email, name, role, password_hash, is_active, created_at)"
            " VALUES (?, ?, 'agent', ?, 1, ?)",
            (f"agent{n}@example.com", f"Agent {n}", password_hash, _stamp(now)),
        ).lastrowid
        for n in range(1, 6)
    ]
    connection.execute("COMMIT")

    sizes = thread_sizes(rng, customers, messages, big_threads, big_size)
    first_customer = (connection.execute("SELECT coalesce(max(id), 0) FROM customer").fetchone()[0]) + 1
    first_conversation = (connection.execute("SELECT coalesce(max(id), 0) FROM conversation").fetchone()[0]) + 1
    first_identity = (connection.execute("SELECT coalesce(max(id), 0) FROM customer_identity").fetchone()[0]) + 1
    customer_rows, identity_rows, conversation_rows = [], [], []
    message_batch: list[tuple] = []
    message_count = committed = 0
    year = 365 * 24 * 3600

    def flush_messages() -> None:
        nonlocal message_batch
        connection.executemany(
            "INSERT INTO message (conversation_id, channel_id, direction, content_type, content, status, "
            "external_id, attempts, agent_id, created_at, sent_at, delivered_at, read_at) "
            "VALUES (?, ?, ?, 'text', ?, ?, ?, 0, ?, ?, ?, ?, ?)",
            message_batch,
        )
        message_batch = []

    connection.execute("BEGIN")
    for index in range(customers):
        customer_id, conversation_id, identity_id = (
            first_customer + index,
            first_conversation + index,
            first_identity + index,
        )
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        phone = f"+49{rng.randint(1500000000, 1799999999)}"
        channel_id = channel_list[index % len(channel_list)]
        size = sizes[index]
        # the last activity: anywhere in the past year, big threads among the newest
        last = now - timedelta(seconds=rng.randint(0, year if index >= big_threads else 3600))
        last = last.replace(microsecond=rng.randint(0, 999999))
        step = timedelta(seconds=min(3600, max(20, year // 4 // max(size, 1))))
        created = last - step * (size - 1)
        customer_rows.append(
            (
                customer_id,
                name,
                phone if rng.random() < 0.8 else None,
                f"{name.split()[0].lower()}.{customer_id}@example.com" if rng.random() < 0.3 else None,
                "",
                _stamp(created),
                _stamp(created),
            )
        )
        identity_rows.append((identity_id, customer_id, channel_id, phone + f"-{customer_id}", _stamp(created)))
        status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
        # unread: the trailing customer messages nobody has read (mostly open conversations)
        unread_wanted = status in ("open", "pending") and rng.random() < 0.35
        inbound_tail = rng.randint(1, 3) if unread_wanted else 0
        assignee = rng.choice(agent_ids) if rng.random() < 0.5 else None
        content = ""
        for number in range(size):
            at = created + step * number
            inbound = number == 0 or number >= size - inbound_tail or rng.random() < 0.55
            content = text.customer(name) if inbound else text.agent(name)
            stamp = _stamp(at)
            if inbound:
                message_batch.append(
                    (
                        conversation_id,
                        channel_id,
                        "inbound",
                        content,
                        "received",
                        f"ext-{conversation_id}-{number}",
                        None,
                        stamp,
                        stamp,
                        None,
                        None,
                    )
                )
            else:
                message_batch.append(
                    (
                        conversation_id,
                        channel_id,
                        "outbound",
                        content,
                        "read",
                        f"out-{conversation_id}-{number}",
                        assignee or agent_ids[0],
                        stamp,
                        stamp,
                        stamp,
                        stamp,
                    )
                )
        message_count += size
        unread = min(inbound_tail, size)
        conversation_rows.append(
            (
                conversation_id,
                customer_id,
                channel_id,
                identity_id,
                status,
                assignee,
                unread,
                _stamp(last),
                " ".join(content.split())[:PREVIEW_LENGTH],
                snooze_end(rng, now) if status == "snoozed" else None,
                _stamp(created),
            )
        )
        if len(message_batch) >= 50_000:
            _insert_people(connection, customer_rows, identity_rows, conversation_rows)
            customer_rows, identity_rows, conversation_rows = [], [], []
            flush_messages()
            if message_count - committed >= 200_000:  # big transactions, but not one of a gigabyte
                committed = message_count
                connection.execute("COMMIT")
                log(f"{index + 1} conversations, {message_count} messages")
                connection.execute("BEGIN")
    _insert_people(connection, customer_rows, identity_rows, conversation_rows)
    if message_batch:
        flush_messages()
    connection.execute("COMMIT")
    # No ANALYZE: ChatHub never runs it, so the query planner works without statistics here as it does on
    # a user's database.
    log(f"{customers} conversations, {message_count} messages")
    connection.execute("PRAGMA journal_mode=WAL")  # as ChatHub keeps it
    connection.close()
    seconds = time.perf_counter() - started
    size_mib = sum(p.stat().st_size for p in data_dir.glob("chathub.db*")) / 2**20
    rows = customers * 3 + message_count
    return FillResult(
        customers=customers,
        conversations=customers,
        messages=message_count,
        big_threads=list(range(first_conversation, first_conversation + big_threads)),
        seconds=round(seconds, 1),
        rows_per_second=round(rows / seconds),
        database_mib=round(size_mib, 1),
        channels=channel_ids,
    )


def _insert_people(connection: sqlite3.Connection, customers: list, identities: list, conversations: list) -> None:
    connection.executemany(
        "INSERT INTO customer (id, name, phone, email, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        customers,
    )
    connection.executemany(
        "INSERT INTO customer_identity (id, customer_id, channel_id, external_id, created_at) VALUES (?, ?, ?, ?, ?)",
        identities,
    )
    connection.executemany(
        "INSERT INTO conversation (id, customer_id, channel_id, identity_id, status, assignee_id, "
        "unread_count, last_message_at, last_message_preview, snoozed_until, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        conversations,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="a fresh folder: becomes CHATHUB_DATA_DIR")
    parser.add_argument("--customers", type=int, default=100_000, help="customers = conversations (100,000)")
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in all (1,000,000)")
    parser.add_argument("--big-threads", type=int, default=5, help="conversations with --big-size messages (5)")
    parser.add_argument("--big-size", type=int, default=10_000, help="messages in each big thread (10,000)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    result = fill(
        args.data_dir,
        customers=args.customers,
        messages=args.messages,
        big_threads=args.big_threads,
        big_size=args.big_size,
        seed=args.seed,
    )
    print(json.dumps(asdict(result), indent=2))


if __name__ == "__main__":
    main()
