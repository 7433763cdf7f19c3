"""Tokens and secrets are encrypted at rest and never logged; keys rotate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import select

from meetbridge.container import build_container
from meetbridge.core.crypto import Crypto
from meetbridge.core.logging import configure_logging
from meetbridge.integrations.zoom.keys import rotate_keys
from meetbridge.integrations.zoom.tables import ZoomConnection
from tests.conftest import ORIGIN, make_settings
from tests.support import SmtpServer
from tests.zoom_env import zoom_env

DEMO_S2S = ("mbDemoAccount01", "mbDemoS2SApp", "mb-demo-s2s-app-secret-0123456789")


def test_no_token_in_clear_in_the_database_or_the_logs(
    tmp_path: Path, database_url: str, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True)
    try:
        with zoom_env(tmp_path, database_url, smtp) as env:
            browser = env.signed_in("ann@acme.test")
            env.connect(browser, "maria@zoom-sandbox.test")
            owner = env.user("owner@acme.test")
            account = env.c.connections.save_account(owner, *DEMO_S2S, origin=ORIGIN)
            env.c.zoom.api(account.id).get_user("dana@zoom-sandbox.test")
            conn = env.c.connections.my_connection(env.user("ann@acme.test"))
            assert conn
            env.c.zoom.api(conn.id).get_user()
            secrets = [t["value"] for t in env.control("GET", "/tokens")] + [DEMO_S2S[2]]
            url = env.c.settings.effective_database_url
            with env.c.db.read() as s:
                rows = s.scalars(select(ZoomConnection)).all()
                dumped = json.dumps([{k: str(v) for k, v in vars(r).items()} for r in rows])
            if url.startswith("sqlite:///"):
                env.c.db.dispose()
                raw = b"".join(p.read_bytes() for p in Path(url[10:]).parent.glob("meetbridge.db*"))
            else:
                raw = dumped.encode()
        out = capsys.readouterr()
    finally:
        structlog.reset_defaults()
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret.encode() not in raw, "a token is stored in clear"
        assert secret not in dumped
        assert secret not in out.err + out.out, "a token reached the logs"
    assert "gAAAAA" in dumped  # Fernet tokens: encrypted, not absent


def test_rotate_keys(tmp_path: Path, database_url: str, smtp: SmtpServer) -> None:
    old_key = Crypto.new_key()
    with zoom_env(tmp_path, database_url, smtp, encryption_keys=old_key) as env:
        owner = env.user("owner@acme.test")
        account = env.c.connections.save_account(owner, *DEMO_S2S, origin=ORIGIN)
        env.c.zoom.api(account.id).get_user("dana@zoom-sandbox.test")
        settings = env.c.settings
    new_key = Crypto.new_key()
    both = build_container(
        make_settings(tmp_path, database_url, smtp, encryption_keys=f"{new_key},{old_key}")
    )
    assert rotate_keys(both.db, both.crypto)["zoom_connections"] == 2  # secret + access token
    both.close()
    only_new = build_container(settings.model_copy(update={"encryption_keys": SecretStr(new_key)}))
    with only_new.db.read() as s:
        row = s.scalars(select(ZoomConnection)).one()
    assert only_new.crypto.decrypt(row.client_secret_enc or "") == DEMO_S2S[2]
    only_new.close()
    only_old = Crypto([old_key])
    with pytest.raises(ValueError, match="cannot be decrypted"):
        only_old.decrypt(row.client_secret_enc or "")
