"""The kiosk application: ``create_app`` builds it; nothing happens at import time."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, session

from .extensions import babel, csrf, db, htmx, migrate

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    from flask import current_app

    lang = session.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def _tune_sqlite(engine) -> None:
    """SQLite: WAL so readers never block the writer (the sandbox provider writes on its own
    connection), a busy timeout instead of instant 'database is locked', and foreign keys on."""
    if engine.dialect.name != "sqlite":
        return

    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides the settings picked by ``KIOSK_ENV``."""
    from config.settings import CONFIGS

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    env = (config or {}).get("ENV_NAME") or os.environ.get("KIOSK_ENV", "development")
    settings = CONFIGS[env]
    if hasattr(settings, "check"):
        settings.check()
    app.config.from_object(settings)
    app.config.update(config or {})

    db.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine)
    # batch mode: SQLite cannot ALTER most things, so a revision rebuilds the table there;
    # on PostgreSQL the same batch operations are plain ALTERs, so one revision serves both
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)

    from .web import register

    register(app)

    from .cli import register_commands

    register_commands(app)
    return app
