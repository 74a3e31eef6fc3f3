"""Errors as Bitrix24 answers them: an ``error`` code, an ``error_description``, an HTTP status (§2.5, §9)."""

from __future__ import annotations

# Russian descriptions, switched on per portal to catch code that matches on text (§12.1, issue b24jssdk#184).
RUSSIAN = {
    "Not found": "Не найдено",
    "Item not found": "Элемент не найден",
    "Access denied!": "Доступ запрещён!",
    "Too many requests": "Слишком много запросов",
}


class ApiError(Exception):
    def __init__(self, code: str, description: str, status: int = 400, **extra: str) -> None:
        super().__init__(f"{code or '(empty)'}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra = extra

    def body(self, russian: bool = False) -> dict[str, str]:
        text = RUSSIAN.get(self.description, self.description) if russian else self.description
        return {"error": self.code, "error_description": text, **self.extra}


def not_found_legacy() -> ApiError:
    return ApiError("", "Not found", 400)


def no_auth() -> ApiError:
    return ApiError("NO_AUTH_FOUND", "Wrong authorization data", 401)


def wrong_auth_type() -> ApiError:
    return ApiError(
        "WRONG_AUTH_TYPE",
        "Current authorization type is denied for this method Application context required",
        403,
    )


def access_denied(text: str = "Access denied!") -> ApiError:
    return ApiError("ACCESS_DENIED", text, 403)
