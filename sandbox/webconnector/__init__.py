"""A QuickBooks Web Connector simulator: reads a ``.qwc``, drives a QBWC endpoint over SOAP, relays qbXML.

The real Web Connector is a Windows-only SOAP client; this one lets the agent's endpoint be exercised on any
machine, against a simulated QuickBooks reached through ``sandbox.qbport``. The contract it follows is
``../shared/specs/quickbooks-webconnector.md`` §1–3 and §12.
"""
