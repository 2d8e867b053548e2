"""Security headers: what a browser may load, frame, sniff and cache, on every kind of response."""
from __future__ import annotations

import os

import pytest

from kiosk import create_app
from kiosk.cli import upgrade_to_head
from kiosk.extensions import db
from tests.checkout_helpers import notify
from tests.helpers import ZHAO_MIN, Journey
from tests.test_production_settings import PUBLIC, training_env


def policy(response) -> dict[str, str]:
    """The Content-Security-Policy as directive -> sources."""
    directives = (part.strip().split(None, 1) for part in response.headers["Content-Security-Policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives if d and d[0]}


def assert_locked_down(response) -> None:
    csp = policy(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"  # no inline script and no eval
    assert csp["style-src"] == "'self'"  # no <style> and no style="" either
    assert csp["form-action"] == "'self'"
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"  # never to another site


def test_a_page_is_locked_down_and_never_cached(demo, client):
    page = client.get("/")
    assert page.status_code == 200
    assert_locked_down(page)
    assert page.headers["Cache-Control"] == "no-store"


def test_an_htmx_fragment_is_locked_down_and_never_cached(demo, client):
    journey = Journey(client)
    journey.start()
    fragment = journey.post("/identify", {"id_number": "1"}, htmx=True)
    assert fragment.status_code == 422 and "<html" not in fragment.text
    assert_locked_down(fragment)
    assert fragment.headers["Cache-Control"] == "no-store"


def test_the_wallets_pay_page_cannot_be_framed(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    wallet = client.get(order.attempt.qr_payload)
    assert wallet.status_code == 200 and 'id="wallet-pay"' in wallet.text
    assert_locked_down(wallet)


def test_an_error_page_is_locked_down(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert_locked_down(missing)


@pytest.mark.parametrize("path", ["/static/css/kiosk.css", "/static/js/kiosk.js", "/static/vendor/htmx-2.0.11.min.js"])
def test_a_static_file_is_not_sniffed_but_may_be_cached(client, path):
    static = client.get(path)
    assert static.status_code == 200
    assert static.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_a_provider_callback_carries_the_headers_too(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    answer = notify(demo, order)
    assert (answer.status_code, answer.text) == (200, "success")
    assert_locked_down(answer)
    assert answer.headers["Cache-Control"] == "no-store"


def test_development_does_not_pin_the_browser_to_https(demo, client):
    """A developer's http://127.0.0.1 must not be told to use HTTPS for a year."""
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.fixture
def production_app(tmp_path, monkeypatch):
    """The app as production builds it, from the environment (training mode: no real provider yet)."""
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            monkeypatch.delenv(name)
    for name, value in training_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    app = create_app()
    with app.app_context():
        upgrade_to_head()  # as a deployment runs flask init-db
    yield app
    with app.app_context():
        db.engine.dispose()


def test_production_tells_browsers_to_use_https_only(production_app):
    assert production_app.config["ENV_NAME"] == "production"
    client = production_app.test_client()
    for path in ("/", "/static/css/kiosk.css"):
        response = client.get(path, base_url=PUBLIC)
        assert response.status_code == 200, path
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", path
        response.close()


def test_behind_https_a_post_from_our_own_page_passes_the_csrf_check_the_referrer_policy_allows(demo, client):
    """Over HTTPS Flask-WTF also wants a same-origin Referer; with "no-referrer" every button
    would fail in production behind a TLS proxy that reports the scheme (gunicorn honours
    X-Forwarded-Proto from the proxy)."""
    journey = Journey(client)
    journey.get("/", base_url="https://localhost")
    same_origin = journey.client.post("/start", base_url="https://localhost",
                                      headers={"X-CSRFToken": journey.token, "Referer": "https://localhost/"})
    assert same_origin.status_code == 303
    no_referrer = journey.client.post("/start", base_url="https://localhost", headers={"X-CSRFToken": journey.token})
    assert no_referrer.status_code == 400  # what "no-referrer" would have made of every tap
