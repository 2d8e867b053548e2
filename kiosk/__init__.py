"""The kiosk application: ``create_app`` builds it; nothing happens at import time."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, session

from . import payments
from .database import configure_engine
from .extensions import babel, csrf, db, htmx

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    from flask import current_app

    lang = session.get("lang")
    return lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


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
        configure_engine(db.engine)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)
    payments.init_app(app)

    from .web import register

    register(app)

    from .cli import register_commands

    register_commands(app)
    return app
