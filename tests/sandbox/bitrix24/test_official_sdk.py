"""The official Python SDK (``b24pysdk``, PyPI), unchanged, against the emulator over HTTPS.

The SDK only speaks ``https://{domain}/rest/{user}/{code}/{method}.json`` (its
``api/callers/call_method.py``), so the emulator answers TLS with a certificate made for the test and
trusted through ``REQUESTS_CA_BUNDLE`` — the SDK's own code paths run as they do against a portal:
its list helper pages by ``start``/``next``, its fast list chains ``>ID`` pages inside ``batch``
(``b24pysdk/api/callers/call_list_fast.py``, contract §7.2), and its batch sends method names
as written (``crm.contact.List``), which Bitrix24 tries lowercased first (``CRestProvider::methodsBatch``).
"""

from __future__ import annotations

import collections
import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from b24pysdk import BitrixWebhook, Client
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.bitrix24 import Bitrix24, Clock, Portal, running, seed_portal


def _certificate(folder: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    loopback = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(loopback, False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "portal.pem", folder / "portal.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Client, Bitrix24, Portal]]:
    cert, key = _certificate(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    emu = Bitrix24(Clock(1_795_000_000.0))
    portal = seed_portal(emu)
    with running(emu, tls=(cert, key)):
        code = portal.add_webhook(1)
        host = emu.base_url.split("://", 1)[1] + f"/portal/{portal.domain}"
        yield Client(BitrixWebhook(domain=host, webhook_token=f"1/{code}")), emu, portal


def test_the_official_sdk_pages_lists_to_the_end_and_fast_lists_through_batch(
    sdk: tuple[Client, Bitrix24, Portal],
) -> None:
    client, emu, portal = sdk
    contacts = list(client.crm.contact.list(select=["ID", "NAME"]).as_list().result)
    assert len(contacts) == 560 and len({c["ID"] for c in contacts}) == 560
    fast = list(client.crm.contact.list(select=["ID"]).as_list_fast().result)
    assert sorted(int(c["ID"]) for c in fast) == sorted(portal.store.records[3])
    statuses = list(client.crm.status.list().as_list().result)
    assert len(statuses) == len(portal.store.statuses) > 50  # the directory pages at 50, read to the end
    calls = collections.Counter(c.method for c in emu.calls)
    assert calls["batch"] >= 2 and calls["crm.status.list"] == 2
    assert not [c for c in emu.calls if c.error]  # nothing the SDK sent was refused
