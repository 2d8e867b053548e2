"""``flask --app kiosk <command>``: database set-up, demo data, and the operator's sweeps."""
from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app

from .extensions import db, migrate
from .services.uow import UnitOfWork

PRE_MIGRATION_DATABASE = """\
{url} has the kiosk's tables but no alembic_version table: it was made by `init-db` before the
schema came from migrations, and nothing tells which revision it matches (create_all never
changed a table that existed, so it may be older than any revision). Nothing was changed.
- A development database holds only demo data: delete it (`rm -r instance`) and run `make run`.
- Data to keep: make its schema match revision {base} by hand (constraint names included, see
  migrations/versions), then `flask --app kiosk db stamp {base}` and `flask --app kiosk init-db`."""


def current_revision() -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head() -> tuple[str | None, str | None]:
    """Run every migration the database lacks; return its revision before and after. A database
    made before migrations (tables, no ``alembic_version``) is refused rather than guessed at."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from sqlalchemy import inspect

    from . import models  # noqa: F401  (the tables a pre-migration database would have)

    config = migrate.get_config()
    # this command reports for itself; Alembic's logging set-up would replace the caller's
    config.attributes["configure_logger"] = False
    tables = set(inspect(db.engine).get_table_names())
    if "alembic_version" not in tables and tables & set(db.metadata.tables):
        base = ScriptDirectory.from_config(config).get_base()
        raise click.ClickException(PRE_MIGRATION_DATABASE.format(url=db.engine.url.render_as_string(), base=base))
    before = current_revision()
    try:
        command.upgrade(config, "head")
    except CommandError as exc:  # e.g. the database is at a revision this code does not know
        raise click.ClickException(str(exc)) from exc
    return before, current_revision()


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Bring the database to the newest migration (safe to run again)."""
        before, after = upgrade_to_head()
        if before == after:
            click.echo(f"database ready (revision {after}, already the newest)")
        else:
            click.echo(f"database ready (migrated from {before or 'an empty database'} to revision {after})")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Load the demo region, its rules and a dozen insured people (once)."""
        from .demo import seed

        created = seed(UnitOfWork(db.session), current_app.config["ID_DIGEST_KEY"], current_app.config["TERMINAL_CODE"])
        click.echo("demo data created" if created else "demo data already there")

    @app.cli.command("reconcile")
    def reconcile():
        """Ask the providers about every unfinished payment attempt and follow each to its end."""
        from .payments import payments
        from .services.sweeps import reconcile as sweep

        count = sum(sweep(UnitOfWork(db.session), provider) for provider in payments().offered)
        click.echo(f"{count} unfinished payment attempts looked at")

    @app.cli.command("purge-sessions")
    def purge_sessions():
        """Destroy citizen sessions whose browser went away without ending them."""
        from .services.visits import purge_idle

        cfg = current_app.config
        idle = dt.timedelta(seconds=cfg["IDLE_SECONDS"] + cfg["IDLE_WARNING_SECONDS"] + cfg["IDLE_GRACE_SECONDS"])
        click.echo(f"{purge_idle(UnitOfWork(db.session), idle)} idle sessions destroyed")

    @app.cli.command("refund")
    @click.argument("order_id", type=int)
    @click.option("--amount", type=int, default=None, help="Fen to give back (default: all that is still refundable).")
    @click.option("--reason", required=True, help="Why, in a few words (no personal data).")
    def refund(order_id, amount, reason):
        """Give a paid order's money back through its provider, in full or in part."""
        from .domain.money import yuan
        from .domain.orders import Source
        from .models import PaymentOrder
        from .payments import payments
        from .services.refunds import RefundRefused, available_fen, request_refund

        uow = UnitOfWork(db.session)
        order = db.session.get(PaymentOrder, order_id)
        paid_with = order.paid_attempt.provider if order is not None and order.paid_attempt is not None else None
        provider = payments().get(paid_with) if paid_with is not None else None
        if paid_with is not None and provider is None:
            raise click.ClickException(f"refund refused (other_provider): order {order_id} was paid through {paid_with}")
        if amount is None:
            amount = available_fen(db.session, order_id)
        db.session.rollback()
        try:
            done = request_refund(uow, order_id, amount, reason, Source.STAFF, provider or payments().default)
        except RefundRefused as exc:
            raise click.ClickException(f"refund refused ({exc})") from exc
        left = available_fen(db.session, order_id)
        db.session.rollback()
        click.echo(f"refund {done.out_request_no}: {done.state}, {yuan(done.amount_fen)} yuan; still refundable {yuan(left)} yuan")

    @app.cli.command("refunds")
    def refunds():
        """Give back money paid twice, then follow every refund the provider has not finished."""
        from .payments import payments
        from .services.refunds import follow_refunds, refund_what_is_due

        uow = UnitOfWork(db.session)
        due = sum(refund_what_is_due(uow, provider) for provider in payments().offered)
        followed = sum(follow_refunds(uow, provider) for provider in payments().offered)
        click.echo(f"{due} refunds of money paid twice asked for, {followed} unfinished refunds followed")


@click.command("simulator-keys")
@click.option("--dir", "folder", default=None, help="where to write them (default: KIOSK_SIMULATOR_KEYS_DIR or instance/simulator)")
def simulator_keys(folder: str | None) -> None:
    """Make the gateway simulator's keys (Alipay's and the app's, WeChat Pay's and the merchant's,
    the APIv3 key) where they are missing; existing ones are kept. A plugin command (pyproject's
    flask.commands entry point), so it runs before the app can be built: development's default
    provider needs these files to start."""
    import os
    from pathlib import Path

    from .payments.simulator import ensure_keys

    target = Path(folder or os.environ.get("KIOSK_SIMULATOR_KEYS_DIR") or Path(__file__).resolve().parent.parent / "instance" / "simulator")
    written = ensure_keys(target)
    click.echo(f"simulator keys in {target}: " + (f"made {', '.join(written)}" if written else "all there, none made"))
