"""Bitrix24 failures by code (never by the localized description) and what each means for us."""

from __future__ import annotations

# The portal cannot be used until a person acts: shown as "needs attention", never retried forever.
ATTENTION = {
    "INVALID_GRANT",
    "NOT_INSTALLED",
    "PAYMENT_REQUIRED",
    "WRONG_CLIENT",
    "INVALID_CLIENT",
    "ERROR_OAUTH",
    "APPLICATION_NOT_FOUND",
    "AUTHORIZATION_ERROR",
    "USER_ACCESS_ERROR",
}
RETRYABLE = {
    "QUERY_LIMIT_EXCEEDED",
    "OPERATION_TIME_LIMIT",
    "INTERNAL_SERVER_ERROR",
    "OVERLOAD_LIMIT",
    "HTTP_5XX",
    "NOT_JSON",
    "TIMEOUT",
    "CONNECTION",
    "CONNECTION_REFUSED",
}
ATTENTION_TEXT = {
    "INVALID_GRANT": "Bitrix24 no longer accepts this app's authorization. A Bitrix24 administrator opening "
    "the app once reconnects it.",
    "NOT_INSTALLED": "The app is not installed on this Bitrix24 any more.",
    "PAYMENT_REQUIRED": "The app's subscription on this Bitrix24 has ended.",
    "WRONG_CLIENT": "This server's Bitrix24 client id is not known to Bitrix24 (check QBB24_CLIENT_ID).",
    "INVALID_CLIENT": "Bitrix24 refused this server's client secret (check QBB24_CLIENT_SECRET).",
    "ERROR_OAUTH": "The app is not installed on this Bitrix24 any more.",
    "APPLICATION_NOT_FOUND": "The app is not installed on this Bitrix24 any more.",
    "AUTHORIZATION_ERROR": "The Bitrix24 user who installed the app can no longer sign in (dismissed?). "
    "Open the app as another administrator.",
    "USER_ACCESS_ERROR": "The Bitrix24 user who installed the app may not use it any more.",
}


class B24Error(Exception):
    def __init__(self, code: str, description: str = "", status: int = 0, method: str = "") -> None:
        self.code = code.upper() if code else "ERROR"
        self.description = description
        self.status = status
        self.method = method
        super().__init__(f"{method}: {self.code} {description}".strip())

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    @property
    def attention(self) -> bool:
        return self.code in ATTENTION


class NeedsAttention(B24Error):
    """The portal was put in the "needs attention" state; the message says what a person should do."""
