"""A QuickBooks Desktop (US) company simulator: qbXML in, qbXML out, faithful to the contract.

``SimulatedQuickBooks(seed_company(seed))`` is a :class:`sandbox.qbport.QuickBooksHost` for the Web Connector
simulator; ``python -m sandbox quickbooks`` runs it on its own. It imports only the compiled catalogue and
the hardened XML parser from ``shared.qbxml`` — never the product's builder, parser or sync logic.
"""

from .company import Company
from .host import SimulatedQuickBooks
from .seed import seed_company

__all__ = ["Company", "SimulatedQuickBooks", "seed_company"]
