"""What one surge journey costs the app, request by request, in process and deterministically:
SQL statements (counted by an SQLAlchemy event listener on the engine), CPU time and wall time
of each request of ``bench/surge_journey.py``, through Flask's test client on PostgreSQL.

    .venv/bin/python bench/journey_cost.py                 # 30 journeys, a table per request
    .venv/bin/python bench/journey_cost.py --profile 25    # and cProfile's 25 costliest functions
    .venv/bin/python bench/journey_cost.py --pay simulator # Alipay and WeChat Pay through the adapters

It makes a schema of its own in the tests' PostgreSQL database (``KIOSK_TEST_DATABASE_URL`` or
postgresql+psycopg://postgres@127.0.0.1:5432/test), drops it at the end. Development settings,
the sandbox as the only provider, its notifications off and the sandbox asked at every poll
(``PROVIDER_QUERY_INTERVAL_SECONDS=0``): every poll is the full poll, the one that costs.
``--pay simulator``: the app offers Alipay and WeChat Pay through their adapters against the
gateway simulator served from a thread of this process (its notifications find no server: the
polls find the payment); the phone's requests are not counted. CPU is the main thread's
(``time.thread_time``): the app's own work, not the simulator's.
Statement counts are exact and repeatable; CPU times move with the machine's load.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.surge_journey import Answer, journey, pay_in_sandbox, pay_in_simulator, referer_on  # noqa: E402
from bench.surge_people import id_number, seed_people  # noqa: E402

PG_URL = os.environ.get("KIOSK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class Meter:
    def __init__(self):
        self.statements = 0
        self.rows = collections.defaultdict(lambda: [0, 0, 0.0, 0.0])  # name: count, statements, cpu, wall

        self.log: list[str] | None = None

    def on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.statements += 1
        if self.log is not None:
            self.log.append(" ".join(statement.split())[:160])


class MeteredBrowser:
    def __init__(self, client, meter: Meter, profile: cProfile.Profile | None):
        self.client, self.meter, self.profile = client, meter, profile

    def request(self, name, method, url, body=None, headers=None):
        statements, cpu, wall = self.meter.statements, time.thread_time(), time.perf_counter()
        if self.profile:
            self.profile.enable()
        response = self.client.open(url, method=method, data=body, headers=referer_on("https://localhost", headers))
        if self.profile:
            self.profile.disable()
        name = name if response.status_code != 303 else f"{name} -> 303"
        if self.meter.log is not None:
            print(f"== {name}", *self.meter.log, sep="\n  ")
            self.meter.log.clear()
        row = self.meter.rows[name]
        row[0] += 1
        row[1] += self.meter.statements - statements
        row[2] += time.thread_time() - cpu
        row[3] += time.perf_counter() - wall
        return Answer(response.status_code, dict(response.headers), response.get_data(as_text=True))


class PhoneBrowser:
    """A phone on the simulator's wallet pages, over HTTP (not counted)."""

    def __init__(self, origin):
        import requests

        self.origin, self.session = origin, requests.Session()

    def request(self, name, method, url, body=None, headers=None):
        response = self.session.request(method, url, data=body, headers=referer_on(self.origin, headers),
                                        allow_redirects=False, timeout=30)
        return Answer(response.status_code, dict(response.headers), response.text)


def start_simulator():
    """The gateway simulator on a threaded server of this process; the app's settings for it."""
    import tempfile
    import threading

    from werkzeug.serving import make_server

    from kiosk.payments.simulator import ensure_keys
    from kiosk.web.simulator import create_simulator_app

    keys = tempfile.mkdtemp(prefix="kiosk-cost-keys-")
    ensure_keys(keys)
    holder = {}
    server = make_server("127.0.0.1", 0, lambda environ, start_response: holder["app"](environ, start_response), threaded=True)
    origin = f"http://127.0.0.1:{server.port}"
    holder["app"] = create_simulator_app({"ENV_NAME": "development", "SIMULATOR_KEYS_DIR": keys, "PUBLIC_BASE_URL": origin})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return ({"PAYMENT_PROVIDERS": ("alipay", "wechat"), "SIMULATOR": True, "SIMULATOR_URL": origin + "/simulator",
             "SIMULATOR_KEYS_DIR": keys}, lambda: PhoneBrowser(origin))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", type=int, default=30)
    parser.add_argument("--pay", choices=("sandbox", "simulator"), default="sandbox")
    parser.add_argument("--sql", action="store_true", help="print the statements of the last journey")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's N costliest functions (cumulative)")
    args = parser.parse_args()

    from alembic import command

    from kiosk import create_app
    from kiosk.extensions import db, migrate
    from kiosk.services.uow import UnitOfWork

    overrides, pay, phone_for = {"PAYMENT_PROVIDERS": ("sandbox",)}, pay_in_sandbox, None
    if args.pay == "simulator":
        overrides, phone_for = start_simulator()
        pay = pay_in_simulator
    schema = f"kiosk_cost_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": PG_URL, **overrides,
                          "SANDBOX_NOTIFY": "off", "PROVIDER_QUERY_INTERVAL_SECONDS": 0, "RATELIMIT_ENABLED": False,
                          "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": f"-csearch_path={schema}"}}})
        with app.app_context():
            config = migrate.get_config()
            config.attributes["configure_logger"] = False
            command.upgrade(config, "head")
            seed_people(UnitOfWork(db.session), app.config["ID_DIGEST_KEY"], app.config["TERMINAL_CODE"], args.journeys + 2)
            db.session.remove()
            meter = Meter()
            sa.event.listen(db.engine, "before_cursor_execute", meter.on_execute)
        profile = cProfile.Profile() if args.profile else None
        # two journeys to warm up (templates compiled, caches filled), then the measured ones
        for index in range(args.journeys + 2):
            if index == 2:
                meter.rows.clear()
            if args.sql and index == args.journeys + 1:
                meter.log = []
            kiosk = MeteredBrowser(app.test_client(), meter, profile if index >= 2 else None)
            phone = phone_for() if phone_for else MeteredBrowser(app.test_client(), meter, profile if index >= 2 else None)
            journey(kiosk, phone, id_number(index), sleep=lambda seconds: None, pay_after_polls=2, pay=pay)
        n = args.journeys
        print(f"{n} journeys, per request (mean): SQL statements, CPU ms, wall ms")
        print(f"{'request':48} {'count':>6} {'stmts':>6} {'cpu ms':>7} {'wall ms':>8}")
        total = [0, 0.0, 0.0]
        for name, (count, statements, cpu, wall) in meter.rows.items():
            print(f"{name:48} {count / n:6.1f} {statements / count:6.1f} {cpu / count * 1000:7.1f} {wall / count * 1000:8.1f}")
            total[0] += statements
            total[1] += cpu
            total[2] += wall
        print(f"{'per journey':48} {'':6} {total[0] / n:6.1f} {total[1] / n * 1000:7.1f} {total[2] / n * 1000:8.1f}")
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
