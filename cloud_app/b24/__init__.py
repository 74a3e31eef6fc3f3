"""Talking to Bitrix24: the REST client with its pacer and single-flight token refresh."""
