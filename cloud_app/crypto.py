"""Tokens at rest: Fernet (AES-128-CBC + HMAC) under a key from configuration."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class Vault:
    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("an encryption key is required")
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:  # any other string: derive a key from it
            self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with this key") from exc
