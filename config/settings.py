"""Settings per environment. Secrets and the database URL come from the environment
(``KIOSK_*`` variables), never from code; the development defaults are for one machine."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    SECRET_KEY = os.environ.get("KIOSK_SECRET_KEY")
    # keyed digest of ID numbers: the database never holds them in clear
    ID_DIGEST_KEY = os.environ.get("KIOSK_ID_DIGEST_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("KIOSK_DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'kiosk.sqlite'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None  # a kiosk page may stay open all day; the session bounds it
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")
    # the terminal this app instance serves until the terminal registry issue lands
    TERMINAL_CODE = os.environ.get("KIOSK_TERMINAL_CODE", "DEMO-01")
    # base of the absolute URLs the provider sees (QR codes, notify URL); blank = this request's host
    PUBLIC_BASE_URL = os.environ.get("KIOSK_PUBLIC_BASE_URL", "")
    PAYMENT_PROVIDER = os.environ.get("KIOSK_PAYMENT_PROVIDER", "sandbox")
    SANDBOX_SIGNING_KEY = os.environ.get("KIOSK_SANDBOX_SIGNING_KEY")
    SANDBOX_NOTIFY = os.environ.get("KIOSK_SANDBOX_NOTIFY", "http")  # "http" or "off"
    ORDER_TTL_SECONDS = _env_int("KIOSK_ORDER_TTL_SECONDS", 180)
    PROVIDER_QUERY_INTERVAL_SECONDS = _env_int("KIOSK_PROVIDER_QUERY_INTERVAL_SECONDS", 3)
    POLL_INTERVAL_SECONDS = 1
    IDLE_SECONDS = _env_int("KIOSK_IDLE_SECONDS", 60)
    IDLE_WARNING_SECONDS = _env_int("KIOSK_IDLE_WARNING_SECONDS", 15)
    # the server forgets a visit this long after the browser should have ended it
    IDLE_GRACE_SECONDS = _env_int("KIOSK_IDLE_GRACE_SECONDS", 10)


class DevelopmentConfig(Config):
    SECRET_KEY = Config.SECRET_KEY or "dev-only-secret-key"
    ID_DIGEST_KEY = Config.ID_DIGEST_KEY or "dev-only-id-digest-key"
    SANDBOX_SIGNING_KEY = Config.SANDBOX_SIGNING_KEY or "dev-only-sandbox-key"


class TestingConfig(DevelopmentConfig):
    TESTING = True
    SANDBOX_NOTIFY = "off"  # tests deliver notifications themselves, retries and forgeries included


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True

    @classmethod
    def check(cls) -> None:
        needed = ["SECRET_KEY", "ID_DIGEST_KEY"] + (["SANDBOX_SIGNING_KEY"] if cls.PAYMENT_PROVIDER == "sandbox" else [])
        missing = [name for name in needed if not getattr(cls, name)]
        if missing:
            raise RuntimeError("set KIOSK_" + ", KIOSK_".join(missing) + " for production")


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}
