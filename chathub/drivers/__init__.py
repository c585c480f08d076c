"""The channel drivers and the registry from channel type to driver.

Adding a channel: one module (or package) beside this one holding a `ChannelDriver` subclass, and one line in
`DRIVERS` below. The type string is what webhook URLs and the database hold; nothing else names it.
"""

from __future__ import annotations

from chathub.drivers.base import ChannelDriver, DriverContext
from chathub.drivers.simulator import SimulatorDriver
from chathub.drivers.telegram import TelegramDriver
from chathub.drivers.twilio import TwilioDriver
from chathub.drivers.whatsapp import WhatsAppDriver

DRIVERS: dict[str, type[ChannelDriver]] = {
    "simulator": SimulatorDriver,
    "telegram": TelegramDriver,
    "twilio": TwilioDriver,
    "whatsapp": WhatsAppDriver,
}


def driver_class(channel_type: str) -> type[ChannelDriver]:
    """The driver for a channel type; KeyError when none is registered."""
    return DRIVERS[channel_type]


def make_driver(channel_type: str, context: DriverContext) -> ChannelDriver:
    return driver_class(channel_type)(context)


def register_driver(driver: type[ChannelDriver]) -> None:
    """Add a driver at run time (a plug-in, a test's toy channel); `unregister_driver` takes it away again."""
    if DRIVERS.get(driver.type, driver) is not driver:
        raise ValueError(f"another driver is registered for {driver.type} channels")
    DRIVERS[driver.type] = driver


def unregister_driver(channel_type: str) -> None:
    DRIVERS.pop(channel_type, None)
