"""Extensions, created unbound; ``create_app`` binds them with ``init_app``."""
from flask_babel import Babel
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
