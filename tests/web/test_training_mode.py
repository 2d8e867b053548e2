"""Production in training mode, as a citizen and an attacker meet it through the test client:
the training banner on every screen and on the printed receipt, and 400 for a forged Host."""
from __future__ import annotations

import os
import re
import secrets
import shutil

import pytest

from kiosk import create_app
from kiosk.extensions import db
from tests.conftest import make_config
from tests.helpers import ZHAO_MIN, Journey, wallet_token

PUBLIC_HOST = "kiosk.example.org"
# behind the TLS reverse proxy the app sees the public Host header (over plain http: no ProxyFix)
AS_PROXIED = f"http://{PUBLIC_HOST}"
BANNER = 'id="training-banner"'
TRAINING_ZH = "培训模式：不是真实付款"


@pytest.fixture
def database_url(tmp_path, sqlite_template):
    """Settings do not depend on the database: SQLite only (at head, no rows)."""
    path = tmp_path / "kiosk.sqlite"
    shutil.copyfile(sqlite_template, path)
    return {"url": f"sqlite:///{path}"}


@pytest.fixture
def app_config(monkeypatch):
    """Production settings from the environment, as wsgi.py reads them, in training mode."""
    for name in list(os.environ):
        if name.startswith("KIOSK_") or name == "FLASK_DEBUG":
            monkeypatch.delenv(name)
    for name in ("KIOSK_SECRET_KEY", "KIOSK_ID_DIGEST_KEY", "KIOSK_SANDBOX_SIGNING_KEY", "KIOSK_VERIFY_KEY"):
        monkeypatch.setenv(name, secrets.token_urlsafe(48))
    monkeypatch.setenv("KIOSK_PUBLIC_BASE_URL", f"https://{PUBLIC_HOST}")
    monkeypatch.setenv("KIOSK_TRAINING_MODE", "on")
    monkeypatch.setenv("KIOSK_SANDBOX_NOTIFY", "off")
    monkeypatch.setenv("KIOSK_TERMINAL_REGION", "110105")
    monkeypatch.setenv("KIOSK_TERMINAL_CODE", "TRAIN-01")  # a training kiosk: one kiosk served by setting
    return {"ENV_NAME": "production"}


class Proxied:
    """The test client as requests arrive through the reverse proxy."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, base_url=AS_PROXIED, **kwargs)

    def post(self, url, **kwargs):
        return self.client.post(url, base_url=AS_PROXIED, **kwargs)


def test_a_request_with_another_host_gets_400(app):
    client = app.test_client()
    assert client.get("/", base_url=AS_PROXIED).status_code == 200
    assert client.get("/", base_url="http://attacker.example").status_code == 400
    assert client.post("/payments/notify/sandbox", base_url="http://attacker.example", data={"x": "1"}).status_code == 400


def test_training_mode_is_on_every_screen_and_on_the_printed_receipt(demo):
    journey = Journey(Proxied(demo.test_client()))
    attract = journey.get("/")
    assert BANNER in attract.text and TRAINING_ZH in attract.text
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
        token = wallet_token(order)
        # the QR code's URL is the configured public address, not the request's
        assert order.attempt.qr_payload.startswith(f"https://{PUBLIC_HOST}/")
    qr_page = journey.get("/payment")
    assert qr_page.status_code == 200 and 'id="qr-sandbox"' in qr_page.text
    assert BANNER in qr_page.text

    wallet = Journey(Proxied(demo.test_client()))
    assert BANNER in wallet.get(f"/sandbox/wallet/{token}").text
    assert wallet.post(f"/sandbox/wallet/{token}/pay").status_code == 200
    demo.config["PROVIDER_QUERY_INTERVAL_SECONDS"] = 0
    assert journey.get("/payment").status_code == 303

    receipt = journey.get("/receipt").text
    assert BANNER in receipt
    paper = re.search(r'<article class="receipt".*?</article>', receipt, re.S).group(0)
    mark = re.search(r'<p class="([^"]*)" id="receipt-training">([^<]*)</p>', paper)
    assert mark.group(2) == TRAINING_ZH
    assert "no-print" not in mark.group(1)  # it goes on the paper


def test_no_banner_outside_training_mode(tmp_path, monkeypatch, sqlite_template):
    monkeypatch.delenv("KIOSK_TRAINING_MODE", raising=False)
    shutil.copyfile(sqlite_template, tmp_path / "plain.sqlite")  # a migrated database, as every deployment has
    app = create_app(make_config(f"sqlite:///{tmp_path / 'plain.sqlite'}"))
    try:
        page = app.test_client().get("/")
        assert page.status_code == 200 and BANNER not in page.text
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_sandbox_sms_page_is_for_logged_in_trainers_only_in_production(app):
    assert app.config["SMS_GATEWAY"] == "sandbox"
    assert Proxied(app.test_client()).get("/sandbox/sms/").status_code == 404
