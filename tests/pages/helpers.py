"""Helpers for page tests with NiceGUI's simulated `User`."""
from __future__ import annotations

from nicegui.testing import User

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


async def sign_in(user: User, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    await user.open("/signin")
    user.find("Email").type(email)
    user.find("Password").type(password)
    user.find(marker="sign-in").click()
    # Signing in is asynchronous (password check, then a navigation): wait until the form has gone, or
    # a later `user.open(...)` can be overtaken by that navigation.
    await user.should_not_see(marker="sign-in", retries=200)
