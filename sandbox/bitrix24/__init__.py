"""The Bitrix24 emulator: portals, the OAuth server, REST, events, limits and a clickable portal UI."""

from .clock import Clock
from .emulator import App, Bitrix24, Portal, Settings
from .seed import seed_portal
from .server import make_app, running

__all__ = ["App", "Bitrix24", "Clock", "Portal", "Settings", "make_app", "running", "seed_portal"]
