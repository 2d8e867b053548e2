"""Extensions, created unbound; ``create_app`` binds them with ``init_app``."""
from flask_babel import Babel
import flask_limiter
from flask_limiter.util import get_remote_address
from flask_htmx import HTMX
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Every constraint and index gets a name of its own, the same on SQLite and PostgreSQL, so
# that a migration can drop or alter it by name (SQLite's batch mode cannot touch a nameless
# constraint). The SQLAlchemy/Alembic documentation's convention, except for checks: they
# have no columns to be named after, so each must be named where it is declared, in full
# (``ck_bill_amounts``; a nameless CheckConstraint is refused when the model is defined); the
# documented "ck_%(table_name)s_%(constraint_name)s" would turn that into ck_bill_ck_bill_amounts.
# Names given explicitly to unique constraints and indexes
# (``uq_bill_period``, ``uq_item_live_bill``) are kept as they are.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter's, fit to be bound to one app after another (tests build many): its
    ``init_app`` keeps some state of the previous app, such as a storage found unreachable."""

    def init_app(self, app) -> None:
        self._storage_dead = False
        self._storage_options = {}
        super().init_app(app)

# Limits against abuse (README "Limits"): only the ID look-up is limited, by decorators in
# ``kiosk.web.limits`` with keys of their own (the visit, the terminal; never the ID number),
# so there are no default limits and the QR poll, static files and callbacks are never counted.
# The storage comes from RATELIMIT_STORAGE_URI; it is made anew by each ``init_app``, and one
# Limiter serves one app at a time (one app per process; tests build theirs one after another).
limiter = Limiter(
    key_func=get_remote_address,  # unused: every limit names its own key
    # the exact count over the last minute/hour, not a fixed window that a scan can straddle
    strategy="moving-window",
    # all limits are checked, so the screen can say until when the longest refusal lasts
    fail_on_first_breach=False,
    # a shared store (Redis) that cannot be reached: count in this process rather than fail
    in_memory_fallback_enabled=True,
)
