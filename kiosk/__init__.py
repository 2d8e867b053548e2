"""The kiosk application: ``create_app`` builds it; nothing happens at import time."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request, session

from . import payments, sms
from .database import configure_engine
from .extensions import babel, csrf, db, htmx, limiter, migrate

ROOT = Path(__file__).resolve().parent.parent


def select_locale() -> str:
    from flask import current_app

    from .web.staff import STAFF_BLUEPRINTS

    # staff pages keep their own language, apart from the citizen's at the same browser
    lang = session.get("staff_lang" if request.blueprint in STAFF_BLUEPRINTS else "lang")
    return lang if lang in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``KIOSK_ENV`` picks the settings: production unless it says development or
    testing; ``config`` overrides them (its ``ENV_NAME`` wins over ``KIOSK_ENV``). Production
    raises ``SettingsError`` naming each variable it refuses to start without."""
    from config.settings import SettingsError, load_settings

    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    env = (config or {}).get("ENV_NAME") or os.environ.get("KIOSK_ENV") or "production"
    app.config.update(load_settings(env, config))
    if env == "production" and app.debug:
        # the debugger runs any code a visitor types
        raise SettingsError("production refuses to start:\n- FLASK_DEBUG is on: the debugger runs any code a visitor "
                            "types. Unset it (or use KIOSK_ENV=development on your own machine)")

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
    # batch mode: SQLite cannot ALTER most things, so a revision rebuilds the table there;
    # on PostgreSQL the same batch operations are plain ALTERs, so one revision serves both
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)
    limiter.init_app(app)
    payments.init_app(app)
    sms.init_app(app)

    from .web import register

    register(app)

    from .cli import register_commands

    register_commands(app)
    return app
