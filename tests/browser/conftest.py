"""Browser fixtures: Debian's Chromium driven by pytest-playwright, and the app on a live server.

``playwright install`` cannot work on these machines: the tests use ``/usr/bin/chromium``. Without
it the browser tests are skipped on a developer's machine and fail under ``CI=true``.
"""
from __future__ import annotations

import logging
import os

import pytest

from tests.live import LiveServer, serve

from .steps import KIOSK_PORTRAIT, PHONE, TIMEOUT_MS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, on Debian's Chromium instead of a downloaded one."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"Chromium is not available at {CHROMIUM} (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message + " (CI=true: this is a failure, not a skip)", pytrace=False)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [*CHROMIUM_ARGS, *browser_type_launch_args.get("args", [])],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """Every page is the kiosk's portrait touch screen unless a test says otherwise."""
    return {**browser_context_args, "viewport": KIOSK_PORTRAIT, "has_touch": True}


@pytest.fixture(autouse=True)
def _patient_expectations(page):
    """A slow machine must not fail a test: explicit, generous timeouts for waits and clicks."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    page.set_default_timeout(TIMEOUT_MS)
    page.set_default_navigation_timeout(TIMEOUT_MS)


@pytest.fixture
def live_server(tmp_path, sqlite_template, simulator_keys):
    """A factory: ``live_server(**config_overrides)`` serves a fresh demo database over HTTP.

    The providers are Alipay's and WeChat Pay's real adapters, side by side, talking to the gateway
    simulator the app serves under /simulator/: each QR code is the simulator's wallet page, and
    its Pay posts the provider's signed notification to the app's callback URL over real HTTP, so
    the kiosk page learns of the payment as it would in a hall. ``PAYMENT_PROVIDERS=("sandbox",)``
    gives the old in-database sandbox.
    """
    started: list[LiveServer] = []
    # one line per request (the QR screen polls every second) would bury a failure's real log
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)

    def start(**overrides) -> LiveServer:
        live = serve(tmp_path / f"kiosk{len(started)}.sqlite", sqlite_template,
                     **{"PAYMENT_PROVIDERS": ("alipay", "wechat"), "SIMULATOR_KEYS_DIR": simulator_keys, **overrides})
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()
    werkzeug_log.setLevel(level)


@pytest.fixture
def kiosk(live_server) -> LiveServer:
    """The app with its testing settings (idle 60 s, QR valid 180 s)."""
    return live_server()


@pytest.fixture
def staffed(kiosk):
    """The app with the demo staff accounts of the README (cashier, supervisor, admin)."""
    from kiosk.demo import seed_staff
    from kiosk.extensions import db
    from kiosk.services.uow import UnitOfWork

    with kiosk.app.app_context():
        seed_staff(UnitOfWork(db.session))
    return kiosk


@pytest.fixture
def phone(browser):
    """A second device: the citizen's phone that opens the QR code's URL."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def base_url():
    """Every test builds its URLs from its own live server (and this replaces the plugin's
    deprecated method-style fixture)."""
    return None
