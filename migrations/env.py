"""Alembic's environment, run by ``flask db ...``, ``flask init-db`` and the test fixtures.

Flask-Migrate's template, plus: the models are imported here so that autogenerate sees every
table; logging is left alone when the caller says so (the tests); and SQLite's foreign keys are
off while revisions run, because batch mode rebuilds a table by copying it and dropping the old
one, which SQLite refuses (or turns into a cascade) while other tables reference it.
"""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import kiosk.models  # noqa: F401  (registers every table on db.metadata)

config = context.config

if config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def get_engine():
    return target_db.engine


config.set_main_option("sqlalchemy.url", get_engine().url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    """``flask db upgrade --sql``: print the SQL instead of running it."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    # no empty revision when autogenerate finds nothing to do
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    with get_engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # a no-op inside a transaction: set it on the driver's connection, which runs in
            # autocommit (kiosk/database.py begins transactions itself), before any BEGIN
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migrations ran but left rows whose foreign keys point nowhere: {broken[:10]}")
        finally:
            if sqlite:  # the connection goes back to the pool as the app expects it
                connection.rollback()
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
