"""The whole product on loopback (see ``tests/cloud_app/product.py``), attacked."""

from ..cloud_app.product import world

__all__ = ["world"]
