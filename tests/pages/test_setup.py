"""First run: with no agent and no CHATHUB_ADMIN_* the first visit creates the admin."""

import pytest
from nicegui.testing import User

from chathub.services import agents


@pytest.fixture(autouse=True)
def no_admin_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHATHUB_ADMIN_EMAIL")
    monkeypatch.delenv("CHATHUB_ADMIN_PASSWORD")


def fill(user: User, name: str, email: str, password: str, repeat: str | None = None) -> None:
    user.find("Your name").type(name)
    user.find("Email").type(email)
    user.find("Password").type(password)
    user.find("Repeat the password").type(repeat if repeat is not None else password)
    user.find(marker="create-admin").click()


async def test_first_visit_creates_the_admin_and_signs_in(user: User):
    await user.open("/")
    await user.should_see("Create the admin")
    fill(user, "Alice Admin", "alice@example.com", "Alice-pass-1")
    await user.should_see("Pick a conversation", retries=50)
    admin = await agents.authenticate("alice@example.com", "Alice-pass-1")
    assert admin is not None and admin.role.value == "admin" and admin.name == "Alice Admin"
    await user.open("/setup")  # once an agent exists, set-up is closed: back to the inbox
    await user.should_see("Pick a conversation")
    await user.should_not_see("Create the admin")


@pytest.mark.parametrize(
    "name, email, password, repeat, problem",
    [
        ("", "a@example.com", "Alice-pass-1", None, "The name is empty."),
        ("Alice", "not-an-email", "Alice-pass-1", None, "is not an email address"),
        ("Alice", "a@example.com", "short", None, "at least 8 characters"),
        ("Alice", "a@example.com", "alllowercase", None, "too weak"),
        ("Alice", "a@example.com", "Alice-pass-1", "Other-pass-1", "The two passwords differ."),
    ],
)
async def test_bad_admin_details_are_explained_and_nothing_is_saved(user: User, name, email, password, repeat, problem):
    await user.open("/setup")
    fill(user, name, email, password, repeat)
    await user.should_see(problem, retries=20)
    assert await agents.agent_count() == 0
