"""Tests of several ChatHub processes on one PostgreSQL database. They always use PostgreSQL (several instances
need it), whichever database the rest of the run uses."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.helpers import postgres

_numbers = itertools.count(1)


@pytest.fixture
def empty_postgres(postgres_cluster: postgres.Cluster) -> Iterator[str]:
    """The URL of an empty database on this test process's PostgreSQL server, as an operator creates one."""
    database_url = postgres_cluster.url(f"instances_{next(_numbers)}")
    postgres.execute(database_url, f'CREATE DATABASE "{make_url(database_url).database}"')
    yield database_url
    postgres.drop(database_url)


@pytest.fixture
def shared_database(postgres_cluster: postgres.Cluster) -> Iterator[str]:
    """A migrated database on this test process's PostgreSQL server, for services run in this process as
    several instances would run them."""
    database_url = postgres_cluster.next_database_url()
    postgres.create_from_template(database_url, postgres.SCHEMA_TEMPLATE)
    yield database_url
    postgres.drop(database_url)
