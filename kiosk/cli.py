"""``flask --app kiosk <command>``: database set-up, demo data, and the operator's sweeps."""
from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app

from .extensions import db
from .services.uow import UnitOfWork


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create the tables that do not exist yet (safe to run again)."""
        db.create_all()
        click.echo("database ready")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Load the demo region, its rules and a dozen insured people (once)."""
        from .demo import seed

        created = seed(UnitOfWork(db.session), current_app.config["ID_DIGEST_KEY"], current_app.config["TERMINAL_CODE"])
        click.echo("demo data created" if created else "demo data already there")

    @app.cli.command("reconcile")
    def reconcile():
        """Ask the provider about every pending order and follow each to its end."""
        from .payments import provider
        from .services.sweeps import reconcile as sweep

        count = sweep(UnitOfWork(db.session), provider())
        click.echo(f"{count} pending orders looked at")

    @app.cli.command("purge-sessions")
    def purge_sessions():
        """Destroy citizen sessions whose browser went away without ending them."""
        from .services.visits import purge_idle

        cfg = current_app.config
        idle = dt.timedelta(seconds=cfg["IDLE_SECONDS"] + cfg["IDLE_WARNING_SECONDS"] + cfg["IDLE_GRACE_SECONDS"])
        click.echo(f"{purge_idle(UnitOfWork(db.session), idle)} idle sessions destroyed")
