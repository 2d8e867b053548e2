"""The app on a real HTTP server in a thread (the browser tests' live server, and tests that need
the app to call itself: the adapters against the simulator the app serves)."""
from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field

from flask import Flask
from werkzeug.serving import make_server

from kiosk import create_app
from kiosk.demo import seed
from kiosk.extensions import db
from kiosk.services.uow import UnitOfWork
from tests.conftest import make_config


@dataclass
class LiveServer:
    app: Flask
    url: str
    _server: object = field(repr=False, default=None)
    _thread: threading.Thread | None = field(repr=False, default=None)

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def serve(database, template, **overrides) -> LiveServer:
    """A fresh demo database (a copy of ``template``, migrated and empty) behind a threaded server
    on 127.0.0.1. The port is known before the app is built, so PUBLIC_BASE_URL, and with it the
    QR codes, the notify URL and the simulator's address, are right from the start."""
    shutil.copyfile(template, database)
    holder: dict[str, Flask] = {}
    server = make_server("127.0.0.1", 0, lambda environ, start_response: holder["app"](environ, start_response), threaded=True)
    url = f"http://127.0.0.1:{server.port}"
    app = create_app(make_config(f"sqlite:///{database}", **{"SANDBOX_NOTIFY": "http", "PUBLIC_BASE_URL": url, **overrides}))
    with app.app_context():
        seed(UnitOfWork(db.session), app.config["ID_DIGEST_KEY"], app.config["TERMINAL_CODE"])
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, name=f"live-server-{server.port}", daemon=True)
    thread.start()
    return LiveServer(app, url, server, thread)
