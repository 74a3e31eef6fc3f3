"""Fixtures shared by the cloud's flow tests."""

from .product import world

__all__ = ["world"]
