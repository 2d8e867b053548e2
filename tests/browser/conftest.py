"""Browser fixtures: Debian's Chromium driven by pytest-playwright, and the app on a live server.

``playwright install`` cannot work on these machines: the tests use ``/usr/bin/chromium``. Without
it the browser tests are skipped on a developer's machine and fail under ``CI=true``.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from kiosk import create_app
from kiosk.demo import seed
from kiosk.extensions import db
from kiosk.services.uow import UnitOfWork
from tests.conftest import make_config

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


@dataclass
class LiveServer:
    app: Flask
    url: str

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture
def live_server(tmp_path, sqlite_template):
    """A factory: ``live_server(**config_overrides)`` serves a fresh demo database over HTTP.

    The sandbox wallet's Pay posts its signed notification to the app's callback URL over real
    HTTP (``SANDBOX_NOTIFY="http"``), so the kiosk page learns of the payment as it would in a hall.
    """
    started: list[tuple[LiveServer, object, threading.Thread]] = []
    # one line per request (the QR screen polls every second) would bury a failure's real log
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)

    def start(**overrides) -> LiveServer:
        database = tmp_path / f"kiosk{len(started)}.sqlite"
        shutil.copyfile(sqlite_template, database)  # the migrated schema, no rows
        app = create_app(make_config(f"sqlite:///{database}", **{"SANDBOX_NOTIFY": "http", **overrides}))
        with app.app_context():
            seed(UnitOfWork(db.session), app.config["ID_DIGEST_KEY"], app.config["TERMINAL_CODE"])
        server = make_server("127.0.0.1", 0, app, threaded=True)
        # QR codes and the notify URL come from PUBLIC_BASE_URL, and the port is known only now
        app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.port}"
        thread = threading.Thread(target=server.serve_forever, name=f"live-server-{server.port}", daemon=True)
        thread.start()
        live = LiveServer(app, app.config["PUBLIC_BASE_URL"])
        started.append((live, server, thread))
        return live

    yield start
    for live, server, thread in started:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with live.app.app_context():
            db.session.remove()
            db.engine.dispose()
    werkzeug_log.setLevel(level)


@pytest.fixture
def kiosk(live_server) -> LiveServer:
    """The app with its testing settings (idle 60 s, QR valid 180 s)."""
    return live_server()


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
