"""Secrets at rest: MultiFernet over the keys in MEETBRIDGE_ENCRYPTION_KEYS (newest first).

Encrypt with the newest key, decrypt with any; `meetbridge rotate-keys` re-encrypts every stored
secret with the newest key, after which old keys can be dropped from the setting."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from meetbridge.core.settings import Settings


class Crypto:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("MEETBRIDGE_ENCRYPTION_KEYS is empty")
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except ValueError as exc:
            raise ValueError(
                f"MEETBRIDGE_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> Crypto:
        raw = settings.encryption_keys.get_secret_value()
        return cls([k for k in raw.split(",") if k.strip()])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()
