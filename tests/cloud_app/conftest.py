"""Fixtures shared by the cloud's flow tests."""

from .product import paid_world, world

__all__ = ["paid_world", "world"]
