"""The baseline of ``bench/poll.py``: a bare Flask + Flask-SQLAlchemy app that reads one row of
``payment_order`` by primary key and answers its state as a line of text.

Nothing else: no session, no extensions, no templates, Flask-SQLAlchemy's default engine
options. It maps only the few columns it answers (not the QR's SVG), so it is the cheapest
honest database read a request can make. ``gunicorn 'bench.baseline_app:create()'`` with
``BENCH_DATABASE_URL`` and ``BENCH_ORDER_ID`` in the environment.
"""
from __future__ import annotations

import datetime as dt
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Order(db.Model):
    __tablename__ = "payment_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    # the order's state now lives in its attempts (payment_attempt): the round is the order's own column
    round_no: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)


def create() -> Flask:
    app = Flask("baseline")
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_DATABASE_URL"]
    db.init_app(app)
    order_id = int(os.environ["BENCH_ORDER_ID"])

    @app.get("/order")
    def order():
        row = db.get_or_404(Order, order_id)
        return f"{row.round_no} {row.expires_at:%Y-%m-%dT%H:%M:%S}"

    return app
