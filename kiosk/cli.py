"""``flask --app kiosk <command>``: database set-up, demo data, and the operator's sweeps."""
from __future__ import annotations

import datetime as dt
import signal
import sys
import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

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


def session_idle(config) -> dt.timedelta:
    """How long a citizen session may sit unused before the sweep destroys it: the idle time, the
    warning and a grace period (the page ends it itself before that)."""
    return dt.timedelta(seconds=config["IDLE_SECONDS"] + config["IDLE_WARNING_SECONDS"] + config["IDLE_GRACE_SECONDS"])


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, `make run` ending) stops a looping sweep as Ctrl-C does: between jobs or
    inside one, the lock is released on the way out."""
    def stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


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
        """Load the demo region's rule file (as `flask rules load` does) and a dozen insured people (once);
        outside production, the demo staff accounts too."""
        from .demo import seed, seed_staff

        created = seed(UnitOfWork(db.session), current_app.config["ID_DIGEST_KEY"], current_app.config["TERMINAL_CODE"])
        click.echo("demo data created" if created else "demo data already there")
        if current_app.config["ENV_NAME"] == "production":
            click.echo("no demo staff accounts in production: make them with `flask create-staff`")
            return
        made = seed_staff(UnitOfWork(db.session))
        if made:
            click.echo(f"demo staff accounts made: {', '.join(made)} (passwords in README.md)")

    rules_group = AppGroup("rules", help="Premium rules: load the files of config/rules/, show what is in force.")
    app.cli.add_command(rules_group)

    @rules_group.command("load")
    @click.argument("paths", nargs=-1, type=click.Path(dir_okay=False))
    def rules_load(paths):
        """Load rule files (default: every config/rules/*.json), all or nothing: an invalid file is
        refused with the file, field and reason, and nothing changes. Loading the same file again
        changes nothing; a changed file retires the rules it no longer has (bills keep theirs)."""
        from pathlib import Path

        from .domain.rulefile import RuleFileError
        from .services.rules import load_rule_files

        try:
            reports = load_rule_files(UnitOfWork(db.session), [Path(path) for path in paths] or None)
        except RuleFileError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(exc.problems)} problem(s) found: no rule file was loaded, nothing changed")
        for report in reports:
            click.echo(report.summary())

    @rules_group.command("show")
    def rules_show():
        """Print each region's rules in force, by scheme and date range (amounts in fen)."""
        from .services.rules import STORED_FIELDS, rules_in_force

        for region, rows in rules_in_force(db.session):
            click.echo(f"{region.code} {region.name} ({region.agency_name})")
            if not rows:
                click.echo("  no rules in force")
            for row in rows:
                click.echo(f"  {row.scheme} {row.valid_from} to {row.valid_to or 'open'} "
                           f"(rule {row.id}, version {row.version}, {row.source or 'no file'})")
                details = [f"{name}={getattr(row, name)}" for name in STORED_FIELDS
                           if name not in ("valid_from", "valid_to") and getattr(row, name) not in (0, None, {}, "")]
                click.echo("    " + ", ".join(details))
        db.session.rollback()

    @app.cli.command("sweep")
    @click.option("--every", type=click.IntRange(min=1), default=None, metavar="SECONDS",
                  help="Run again every SECONDS until stopped (Ctrl-C or SIGTERM), instead of once.")
    def sweep(every):
        """Run every periodic job once: follow unfinished orders, give back money paid twice, follow
        unfinished refunds, destroy idle sessions. Skips (and says so) while another sweep runs."""
        from .payments import payments
        from .services.sweeps import run_sweep

        def once(say_nothing_done: bool = True) -> bool:
            report = run_sweep(UnitOfWork(db.session), payments().providers.values(), session_idle(current_app.config))
            db.session.remove()  # nothing of this run lingers in the session (or a connection) until the next
            if say_nothing_done or report.skipped or report.failed or any(report.done.values()):
                click.echo(report.summary())
            return not report.failed

        if every is None:
            if not once():
                raise SystemExit(1)  # cron and systemd see that a job failed
            return
        _stop_on_sigterm()
        try:
            click.echo(f"sweeping every {every} seconds (each sweep that did something is reported)")
            while True:
                once(say_nothing_done=False)  # a sweep that found nothing to do is not news
                time.sleep(every)
        except KeyboardInterrupt:
            click.echo("sweeps stopped")

    @app.cli.command("reconcile")
    @click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Reconcile each provider's statement of this day (Beijing date, YYYY-MM-DD) instead of the sweep.")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
                  help="Folder for the CSV reports (default: instance/reconciliation).")
    def reconcile(day, out_dir):
        """Ask the providers about every unfinished payment attempt and follow each to its end (part of
        `sweep`); with --date, reconcile the providers' daily statements with our records instead."""
        from .payments import payments
        from .services.sweeps import reconcile as sweep

        if day is not None:
            return reconcile_statements(day.date(), out_dir)
        count = sum(sweep(UnitOfWork(db.session), provider) for provider in payments().offered)
        click.echo(f"{count} unfinished payment attempts looked at")

    def reconcile_statements(day: dt.date, out_dir: str | None) -> None:
        from pathlib import Path

        from .domain.money import yuan
        from .payments import payments
        from .payments.base import ProviderError
        from .services.statements import Kind, reconcile_day, write_report

        folder = Path(out_dir) if out_dir else Path(current_app.instance_path) / "reconciliation"
        failed = []
        for name, provider in payments().providers.items():
            try:
                report = reconcile_day(UnitOfWork(db.session), provider, day)
            except ProviderError as exc:
                failed.append(name)
                click.echo(f"{name} {day}: statement not available ({exc}); nothing changed. Statements of a day are "
                           "ready after about 10:00 (Beijing) the next day: try again later.", err=True)
                continue
            path = write_report(report, folder / f"{name}-{day.isoformat()}.csv")
            counts = report.counts
            click.echo(f"{name} {day}: {report.statement_lines} statement lines; "
                       f"{counts[Kind.REPAIRED]} payments recorded from the statement, {report.open_differences} differences")
            for kind in Kind:
                if counts[kind]:
                    click.echo(f"  {kind.value}: {counts[kind]}")
            click.echo(f"  statement: paid {report.theirs_paid_fen} fen ({yuan(report.theirs_paid_fen)} yuan), "
                       f"refunded {report.theirs_refunded_fen} fen ({yuan(report.theirs_refunded_fen)} yuan)")
            click.echo(f"  our records: paid {report.ours_paid_fen} fen ({yuan(report.ours_paid_fen)} yuan), "
                       f"refunded {report.ours_refunded_fen} fen ({yuan(report.ours_refunded_fen)} yuan)")
            click.echo(f"  report: {path}")
        if failed:
            raise SystemExit(1)

    @app.cli.command("purge-sessions")
    def purge_sessions():
        """Destroy citizen sessions whose browser went away without ending them (part of `sweep`)."""
        from .services.visits import purge_idle

        click.echo(f"{purge_idle(UnitOfWork(db.session), session_idle(current_app.config))} idle sessions destroyed")

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
        """Give back money paid twice, then follow every refund the provider has not finished (part of `sweep`)."""
        from .payments import payments
        from .services.refunds import follow_refunds, refund_what_is_due

        uow = UnitOfWork(db.session)
        providers = list(payments().providers.values())
        due = sum(refund_what_is_due(uow, provider) for provider in providers)
        followed = sum(follow_refunds(uow, provider) for provider in providers)
        click.echo(f"{due} refunds of money paid twice asked for, {followed} unfinished refunds followed")

    @app.cli.command("create-staff")
    @click.argument("username")
    @click.option("--role", required=True, help="cashier, supervisor or admin")
    @click.option("--name", "display_name", default="", help="the name shown on the staff pages (default: the username)")
    @click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
    def create_staff(username, role, display_name, password_stdin):
        """Make a staff account. The password is asked for (hidden, twice) unless --password-stdin."""
        from .domain.staff import MIN_PASSWORD_LENGTH, ROLES
        from .services.staff import StaffError, create_staff as create

        if role not in ROLES:  # before asking for a password that would be thrown away
            raise click.ClickException(f"unknown role {role!r}: choose one of {', '.join(ROLES)}; no account made")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt(f"Password (at least {MIN_PASSWORD_LENGTH} characters)", hide_input=True,
                                    confirmation_prompt=True)
        try:
            create(UnitOfWork(db.session), username, display_name, role, password)
        except StaffError as exc:
            raise click.ClickException(f"{exc}; no account made") from exc
        click.echo(f"staff account made ({role})")


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
