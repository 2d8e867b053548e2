"""Entry point for gunicorn: ``gunicorn -w 2 wsgi:app`` (set KIOSK_ENV=production and the KIOSK_* secrets)."""
from kiosk import create_app

app = create_app()
