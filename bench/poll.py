"""The QR screen's status poll under gunicorn on PostgreSQL, next to a bare primary-key read.

Two servers run side by side with the same gunicorn settings (``-w 2``, sync workers) on the
same database: the kiosk app, with one visit on the QR screen of one pending sandbox order,
and ``bench/baseline_app.py``, a bare Flask + Flask-SQLAlchemy app reading that order's row by
primary key. wrk loads each in turn, alternating, for several rounds; the script prints the
median requests/s and p99 latency of each and the poll's ratios to the baseline.

Usage: ``python bench/poll.py [--rounds 10] [--seconds 5] [--connections 8]`` (``make bench-poll``).
Needs wrk (``apt-get install -y wrk``) and the PostgreSQL server of the tests
(``KIOSK_BENCH_DATABASE_URL``, default postgresql+psycopg://postgres@127.0.0.1:5432/test); it
works in a schema of its own and drops it at the end. It is a benchmark, not a test: the
figures drift with the machine and its load, so compare the ratios of one run.
"""
from __future__ import annotations

import argparse
import http.client
import os
import pathlib
import re
import secrets
import shutil
import statistics
import subprocess
import sys
from urllib.parse import quote

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.processes import free_port, stop, wait_for_port  # noqa: E402

PG_URL = os.environ.get("KIOSK_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PERSON = "110105198509120427"  # a demo person with three months to pay
POLL_PATH = "/payment/status"
BASELINE_PATH = "/order"


def prepare(url: str) -> tuple[str, int]:
    """Migrate the schema, seed the demo and put one visit on the QR screen of a pending
    order, through the services. Returns the visit's session cookie and the order's id."""
    from alembic import command

    from kiosk import create_app
    from kiosk.domain.clock import local_today, utcnow
    from kiosk.extensions import db, migrate
    from kiosk.models import Visit
    from kiosk.payments import provider
    from kiosk.services import checkout, visits
    from kiosk.services.people import find_person
    from kiosk.services.uow import UnitOfWork
    from kiosk.demo import seed

    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": url, "SANDBOX_NOTIFY": "off", "PAYMENT_PROVIDERS": ("sandbox",)})
    with app.app_context():
        config = migrate.get_config()
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        uow = UnitOfWork(db.session)
        seed(uow, app.config["ID_DIGEST_KEY"], app.config["TERMINAL_CODE"])
        token = visits.start_visit(uow, app.config["TERMINAL_CODE"])
        visit_id = db.session.scalar(sa.select(Visit.id))  # the only visit of this new schema
        visits.set_person(uow, visit_id, find_person(PERSON, app.config["ID_DIGEST_KEY"]).id)
        lines, key = checkout.present_dues(uow, visit_id, local_today(utcnow()))
        bills = [line.bill.id for line in lines if line.payable]
        settings = checkout.checkout_settings(app.config, "bench")
        order = checkout.create_order(uow, visit_id, bills, key, [provider()], settings)
        assert order.status == "pending" and order.attempt.qr_svg, order.status
        order_id = order.id
        db.session.remove()
        db.engine.dispose()
    cookie = app.session_interface.get_signing_serializer(app).dumps({"visit": token})
    return f"session={cookie}", order_id


def start_server(app_spec: str, port: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(pathlib.Path(sys.executable).parent / "gunicorn"), "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", app_spec],
        cwd=ROOT, env={**os.environ, **env}, start_new_session=True,
    )
    wait_for_port(server, port, f"gunicorn {app_spec}")
    return server


def fetch(port: int, path: str, headers: dict) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def check_poll(port: int, headers: dict) -> None:
    """The poll must answer the QR screen (not send the kiosk away): else the figures are void."""
    response = fetch(port, POLL_PATH, headers)
    if response.status not in (200, 204) or response.getheader("HX-Redirect") or response.getheader("HX-Refresh"):
        sys.exit(f"the poll does not see a pending order: {response.status} {response.getheader('HX-Redirect')}")


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(port: int, path: str, headers: dict, seconds: int, connections: int, threads: int) -> tuple[float, float]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if bad:
        sys.exit(f"{bad.group(1)} error answers from {path}:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1))
    return rate, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=5, help="per server per round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install it with `apt-get install -y wrk` (Debian/Ubuntu) and run again")

    schema = f"kiosk_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        sys.exit(f"PostgreSQL is not available at {PG_URL}: {str(exc).splitlines()[0]}")
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options={quote(f'-csearch_path={schema}')}"
    servers = []
    try:
        cookie, order_id = prepare(url)
        # development settings (the sandbox, dev keys), its notifications off, and an order that
        # outlives the run; the provider is still asked every few seconds as at a real kiosk
        # (the sandbox named: development's default is Alipay through the in-app simulator, whose
        # trades live in one process, not in two gunicorn workers)
        kiosk_env = {"KIOSK_ENV": "development", "KIOSK_DATABASE_URL": url, "KIOSK_SANDBOX_NOTIFY": "off",
                     "KIOSK_PAYMENT_PROVIDER": "sandbox",
                     "KIOSK_ORDER_TTL_SECONDS": "3600"}
        poll_port, baseline_port = free_port(), free_port()
        servers.append(start_server("kiosk:create_app()", poll_port, kiosk_env))
        servers.append(start_server("bench.baseline_app:create()", baseline_port,
                                    {"BENCH_DATABASE_URL": url, "BENCH_ORDER_ID": str(order_id)}))
        poll_headers = {"Cookie": cookie, "HX-Request": "true"}
        check_poll(poll_port, poll_headers)
        cases = {"baseline": (baseline_port, BASELINE_PATH, {}), "poll": (poll_port, POLL_PATH, poll_headers)}
        for port, path, headers in cases.values():  # warm up: connections, caches, the first provider query
            wrk(port, path, headers, 3, args.connections, args.threads)
        results = {name: [] for name in cases}
        for round_number in range(args.rounds):
            order = list(cases) if round_number % 2 == 0 else list(reversed(cases))
            for name in order:
                port, path, headers = cases[name]
                rate, p99 = wrk(port, path, headers, args.seconds, args.connections, args.threads)
                results[name].append((rate, p99))
                print(f"round {round_number + 1} {name:8} {rate:8.0f} requests/s  p99 {p99:6.2f} ms", flush=True)
        check_poll(poll_port, poll_headers)  # still on the QR screen: the figures are of the poll of a waiting order
    finally:
        for server in servers:
            stop(server)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    median = {name: (statistics.median(r for r, _ in rows), statistics.median(p for _, p in rows)) for name, rows in results.items()}
    (base_rate, base_p99), (poll_rate, poll_p99) = median["baseline"], median["poll"]
    print()
    print(f"gunicorn -w 2 (sync), PostgreSQL, wrk -t{args.threads} -c{args.connections}, "
          f"{args.rounds} rounds x {args.seconds} s each, alternating; medians:")
    print(f"baseline primary-key read   {base_rate:8.0f} requests/s  p99 {base_p99:6.2f} ms")
    print(f"QR screen status poll       {poll_rate:8.0f} requests/s  p99 {poll_p99:6.2f} ms")
    print(f"poll / baseline: throughput {poll_rate / base_rate:.2f}x (goal >= 0.8), p99 {poll_p99 / base_p99:.2f}x (goal <= 1.5)")
    # each round's two runs are back to back: their ratio is the least disturbed by other load on the machine
    pairs = list(zip(results["baseline"], results["poll"]))
    rate_ratio = statistics.median(poll[0] / base[0] for base, poll in pairs)
    p99_ratio = statistics.median(poll[1] / base[1] for base, poll in pairs)
    print(f"median of the rounds' ratios: throughput {rate_ratio:.2f}x, p99 {p99_ratio:.2f}x")


if __name__ == "__main__":
    main()
