from nicegui.testing import User

from tests.helpers.pages import sign_in


async def test_pages_send_a_stranger_to_sign_in_and_back(user: User):
    await user.open("/customers")
    await user.should_see("Sign in")
    user.find("Email").type("admin@example.com")
    user.find("Password").type("Admin-pass-1")
    user.find(marker="sign-in").click()
    await user.should_see("Customers", retries=20)


async def test_wrong_password_is_refused(user: User):
    await user.open("/signin")
    user.find("Email").type("admin@example.com")
    user.find("Password").type("nope-nope-1")
    user.find(marker="sign-in").click()
    await user.should_see("Wrong email or password.")


async def test_signed_in_agent_sees_the_inbox_frame(user: User):
    await sign_in(user)
    await user.open("/")
    await user.should_see("Webhook logs")
    await user.should_see("Channels")
