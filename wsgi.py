"""Entry point for gunicorn: ``gunicorn -w 2 wsgi:app`` behind a TLS reverse proxy.

It always serves production, whose checks refuse to start on development keys, the sandbox
outside training mode or a missing public address (see README "Production"). A KIOSK_ENV that
says anything else stops it too: a server started this way is the real one, and development
settings come only from ``make run`` or ``KIOSK_ENV=development flask run``.
"""
import os

from config.settings import SettingsError
from kiosk import create_app

if (os.environ.get("KIOSK_ENV") or "production") != "production":
    raise SettingsError(
        f"wsgi.py serves production only, but KIOSK_ENV is {os.environ['KIOSK_ENV']!r}: unset KIOSK_ENV here; "
        "development runs with `make run` or `KIOSK_ENV=development flask --app kiosk run`"
    )

app = create_app({"ENV_NAME": "production"})
