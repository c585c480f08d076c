"""Helpers for page tests with NiceGUI's simulated `User`."""

from __future__ import annotations

from nicegui.testing import User

from chathub import bus
from tests.helpers.app import ADMIN_EMAIL, ADMIN_PASSWORD


async def sign_in(user: User, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    await user.open("/signin")
    user.find("Email").type(email)
    user.find("Password").type(password)
    user.find(marker="sign-in").click()
    # Signing in is asynchronous (password check, then a navigation): wait until the form has gone, or
    # a later `user.open(...)` can be overtaken by that navigation.
    await user.should_not_see(marker="sign-in", retries=200)


def tabs_miss_access_changes() -> None:
    """The open tabs hear nothing of the access changes that follow (as a tab whose click raced the news):
    what such a tab still does is checked on its own, by `session.may_act` and `session.may_read`."""
    bus.access_changed.callbacks.clear()


async def play_customer(user: User, name: str, phone: str) -> None:
    """On the simulator page, as the signed-in agent: make up a fake customer and pick them."""
    await user.open("/simulator")
    user.find(marker="fake-name").type(name)
    user.find(marker="fake-phone").type(phone)
    user.find(marker="add-customer").click()
    await user.should_see("Playing", retries=20)


async def say(user: User, text: str) -> None:
    """On the simulator's phone: send a text as the customer."""
    user.find(marker="composer").type(text)
    user.find(marker="send-message").click()
    await user.should_see(text, retries=20)
