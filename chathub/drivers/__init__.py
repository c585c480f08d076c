"""The channel drivers and the registry from channel type to driver.

Adding a channel: one module beside this one (a `ChannelDriver` subclass) and one line below.
"""

from __future__ import annotations

from chathub.drivers.base import ChannelDriver, DriverContext
from chathub.drivers.simulator import SimulatorDriver
from chathub.drivers.telegram import TelegramDriver
from chathub.drivers.twilio import TwilioDriver
from chathub.drivers.whatsapp import WhatsAppDriver
from chathub.models import ChannelType

DRIVERS: dict[ChannelType, type[ChannelDriver]] = {
    ChannelType.simulator: SimulatorDriver,
    ChannelType.telegram: TelegramDriver,
    ChannelType.twilio: TwilioDriver,
    ChannelType.whatsapp: WhatsAppDriver,
}


def driver_class(channel_type: ChannelType) -> type[ChannelDriver]:
    """The driver for a channel type; KeyError when none is registered."""
    return DRIVERS[ChannelType(channel_type)]


def make_driver(channel_type: ChannelType, context: DriverContext) -> ChannelDriver:
    return driver_class(channel_type)(context)
