"""The year-end surge: many kiosks running the whole journey at once against two app instances
on one PostgreSQL database, next to the primary-key-read baseline of ``bench/poll.py``.

What it does (docs/benchmarks.md, "The year-end surge", has the figures and the reasons):

1. creates a fresh PostgreSQL database (``--pg``, default postgresql+psycopg://postgres@127.0.0.1:5432),
   upgrades it with the migrations, seeds the demo and ``--persons`` synthetic citizens with
   dues of their own (``bench/surge_people.py``; their ID numbers are never printed);
2. makes a self-signed certificate for ``localhost``, starts an nginx TLS proxy (round robin)
   and behind it ``--instances`` gunicorn instances of ``wsgi:app`` on plain-http ports
   (production settings: generated secrets, ``KIOSK_PUBLIC_BASE_URL`` the proxy's https
   address, training mode), ``--workers`` sync workers each as the README's
   production (``--worker-class gthread --threads N`` as an option), the look-up limits' counts
   in a redis of their own (``--limiter redis``) or in each process (``memory``); the gateway
   simulator (``--pay simulator``, the default) as a process of its own behind the same proxy,
   the instances offering Alipay and WeChat Pay through their adapters against it;
3. runs ``--kiosks`` locust users (``bench/surge_locustfile.py``), ramped up at ``--spawn-rate``
   per second, then ``--seconds`` of steady load; each runs journey after journey
   (``bench/surge_journey.py``), a new citizen each time;
4. checks the database for double payments (``bench/surge_audit.py``), before and after one
   ``flask reconcile`` (the cron job);
5. stops the app, starts the baseline (``bench/baseline_app.py``) under the same gunicorn
   settings and loads it with as many locust users making, together, as many requests per
   second as the surge did; prints per step requests/s, p50, p99, errors and each step's p99
   as a ratio to the baseline's; then drops the database.

Usage: ``python bench/surge.py [--kiosks 200] [--seconds 60] ...`` (``make bench-surge``; needs
``pip install -e '.[bench]'`` for locust). A benchmark, not a test: compare ratios of one run.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import pathlib
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.processes import free_port, stop, wait_for_port  # noqa: E402
from bench.surge_audit import double_payments, order_counts  # noqa: E402
from bench.surge_journey import STEPS  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
PG = os.environ.get("KIOSK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
P99_GOAL = 5.0
# the bench's limits, set through the KIOSK_* variables (docs/benchmarks.md says why)
LIMITS = {
    # 60 per minute per terminal is one kiosk's worth; here each instance is ONE terminal code
    # (the app serves one per instance until the terminal registry lands) standing for half the
    # hall, whose kiosks look up hundreds of numbers a minute between them
    "KIOSK_LOOKUP_LIMIT_PER_TERMINAL": "100000 per minute",
}


def make_certificate(folder: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


NGINX = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {folder}/nginx-body;
  proxy_temp_path {folder}/nginx-proxy;
  fastcgi_temp_path {folder}/nginx-fastcgi;
  uwsgi_temp_path {folder}/nginx-uwsgi;
  scgi_temp_path {folder}/nginx-scgi;
  ssl_certificate {cert};
  ssl_certificate_key {key};
  upstream kiosk {{ {kiosk_servers} keepalive 64; }}
  upstream baseline {{ {baseline_servers} keepalive 64; }}
  server {{ listen 127.0.0.1:{kiosk_port} ssl; location / {{ proxy_pass http://kiosk; {proxy} }} }}
  server {{ listen 127.0.0.1:{baseline_port} ssl; location / {{ proxy_pass http://baseline; {proxy} }} }}
  {simulator}
}}
"""
# what the README's production asks of the proxy: the client's Host passed on; and https said, so
# that gunicorn (forwarded_allow_ips 127.0.0.1) tells the app the request was secure
PROXY = ('proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host; '
         'proxy_set_header X-Forwarded-Proto https; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;')


# the gateway simulator behind the same proxy: production takes only https gateways, as the providers' are
SIMULATOR_SERVER = ("upstream simulator {{ server 127.0.0.1:{upstream}; keepalive 16; }} "
                    "server {{ listen 127.0.0.1:{port} ssl; location / {{ proxy_pass http://simulator; {proxy} }} }}")


def start_nginx(folder: pathlib.Path, cert, key, kiosk_port: int, kiosk_upstreams: list[int], baseline_port: int,
                baseline_upstreams: list[int], simulator: tuple[int, int] | None = None) -> subprocess.Popen:
    """The TLS reverse proxy in front of the instances (README "Production"), round robin; and in
    front of the simulator, when there is one (``simulator``: its public port and its own)."""
    config = folder / "nginx.conf"
    config.write_text(NGINX.format(
        folder=folder, cert=cert, key=key, kiosk_port=kiosk_port, baseline_port=baseline_port, proxy=PROXY,
        simulator=SIMULATOR_SERVER.format(port=simulator[0], upstream=simulator[1], proxy=PROXY) if simulator else "",
        kiosk_servers=" ".join(f"server 127.0.0.1:{port};" for port in kiosk_upstreams),
        baseline_servers=" ".join(f"server 127.0.0.1:{port};" for port in baseline_upstreams)))
    process = subprocess.Popen([shutil.which("nginx"), "-c", str(config), "-e", str(folder / "nginx-error.log")],
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for_port(process, kiosk_port, f"nginx (log: {folder / 'nginx-error.log'})")
    return process


def gunicorn(app_spec: str, port: int, env: dict, args, log: pathlib.Path) -> subprocess.Popen:
    threads = ["--threads", str(args.threads)] if args.worker_class == "gthread" else []
    command = [str(BIN / "gunicorn"), "-k", args.worker_class, "-w", str(args.workers), *threads, "--keep-alive", "75", "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_spec]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait_for_port(process, port, f"gunicorn {app_spec} on {port} (log: {log})")
    return process


def start_simulator(folder: pathlib.Path, cert: pathlib.Path, base_env: dict, port: int, public_port: int
                    ) -> tuple[subprocess.Popen, dict]:
    """The gateway simulator as a process of its own (``make simulator``: one gunicorn worker with
    threads, its trades in memory) on ``port``, reached through the proxy's https ``public_port``
    (production takes only https gateways), its keys made for this run (as ``flask
    simulator-keys --dir``). Returns it and the instances' settings: the simulator on (they are in
    training mode), both providers, each adapter's settings named explicitly (production fills
    none in) and pointed at it."""
    from config.settings import PROVIDER_SETTINGS
    from kiosk.payments.simulator import ensure_keys, provider_settings

    keys = folder / "simulator-keys"
    ensure_keys(keys)
    origin = f"https://localhost:{public_port}"
    env = {**base_env, "KIOSK_ENV": "development", "KIOSK_PUBLIC_BASE_URL": origin, "KIOSK_SIMULATOR_KEYS_DIR": str(keys),
           # its notifications go to the kiosk's https address behind the bench's proxy
           "SSL_CERT_FILE": str(cert)}
    command = [str(BIN / "gunicorn"), "-w", "1", "--threads", "32", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               "kiosk.web.simulator:create_simulator_app()"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=(folder / "simulator.log").open("ab"),
                               stderr=subprocess.STDOUT)
    wait_for_port(process, port, f"the simulator (log: {folder / 'simulator.log'})")
    url = origin + "/simulator"
    variables = {setting: variable for entries in PROVIDER_SETTINGS.values() for setting, variable, _, _ in entries}
    # the adapters' HTTP clients (requests) trust the bench's certificate through REQUESTS_CA_BUNDLE
    app_env = {"REQUESTS_CA_BUNDLE": str(cert), "KIOSK_SIMULATOR": "on", "KIOSK_SIMULATOR_URL": url, "KIOSK_SIMULATOR_KEYS_DIR": str(keys),
               "KIOSK_PAYMENT_PROVIDERS": "alipay,wechat", "SURGE_WALLET_ORIGIN": origin}
    for settings in provider_settings(keys, url).values():
        app_env.update({variables[setting]: value for setting, value in settings.items()})
    return process, app_env


def phone_payments(stats: list[dict]) -> int:
    """How many Pay taps the simulator answered "paid" (the journey checks the page says so)."""
    return sum(entry["num_requests"] - entry["num_failures"] for entry in stats
               if entry["name"].startswith("pay: POST /simulator/"))


def clean_environ() -> dict:
    """This process's environment without any KIOSK_* variable: the bench sets its own."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("KIOSK_", "BENCH_", "SURGE_"))}


def prepare(url: str, digest_key: str, persons: int) -> None:
    from alembic import command

    from bench.surge_people import seed_people
    from kiosk import create_app
    from kiosk.extensions import db, migrate
    from kiosk.services.uow import UnitOfWork

    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": url, "ID_DIGEST_KEY": digest_key, "PAYMENT_PROVIDERS": ("sandbox",),
                      "SANDBOX_NOTIFY": "off"})
    with app.app_context():
        config = migrate.get_config()
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
        seed_people(UnitOfWork(db.session), digest_key, "SURGE-A", persons)
        db.session.remove()
        db.engine.dispose()


def run_locust(user_class: str, users: int, spawn_rate: float, run_seconds: int, env: dict, folder: pathlib.Path) -> dict:
    """Headless locust; returns its final stats (``--json-file``), measured after the ramp-up."""
    result = folder / f"{user_class}.json"
    log = folder / f"{user_class}-locust.log"
    command = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "surge_locustfile.py"), "--headless", "--only-summary",
               "-u", str(users), "-r", str(spawn_rate), "--run-time", f"{run_seconds}s", "--stop-timeout", "20",
               "--reset-stats", "--json-file", str(result.with_suffix("")), "--csv", str(folder / user_class),
               "--loglevel", "WARNING", "--logfile", str(log), user_class]
    completed = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not result.exists():
        sys.exit(f"locust {user_class} failed ({completed.returncode}): {completed.stderr[-2000:]}\n(log: {log})")
    failures = folder / f"{user_class}_failures.csv"
    with failures.open(newline="") as file:
        reasons = [(row["Name"], row["Error"], int(row["Occurrences"])) for row in csv.DictReader(file)]
    return {"stats": json.loads(result.read_text()), "log": log, "failures": reasons}


def percentile(histogram: dict[int, int], fraction: float) -> float:
    """From locust's histogram (rounded ms -> count): the smallest time with ``fraction`` at or under it."""
    total = sum(histogram.values())
    if not total:
        return float("nan")
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= fraction * total:
            return float(value)
    return float(max(histogram))


def summarise(stats: list[dict], seconds: int) -> tuple[dict, float]:
    """Per step (the part of each request's name before ':'; journeys apart): requests, failures,
    merged histogram of the whole measurement (steady load, then the last journeys finishing),
    and ``steady``: the requests of the first ``seconds`` after the ramp-up, for requests/s."""
    start = min(entry["start_time"] for entry in stats)
    rows: dict[str, dict] = defaultdict(lambda: {"requests": 0, "failures": 0, "steady": 0, "histogram": defaultdict(int),
                                                 "names": []})
    for entry in stats:
        step = entry["name"].split(":", 1)[0] if entry["method"] != "JOURNEY" else f"journey {entry['name']}"
        row = rows[step]
        row["requests"] += entry["num_requests"]
        row["steady"] += sum(count for second, count in entry["num_reqs_per_sec"].items() if start <= float(second) < start + seconds)
        row["failures"] += entry["num_failures"]
        row["names"].append(entry)
        for value, count in entry["response_times"].items():
            row["histogram"][int(float(value))] += count
    return rows, float(seconds)


def print_report(surge: dict, baseline: dict, audits: list[tuple[str, dict]], orders: dict, args, limiter: str) -> None:
    rows, window = summarise(surge["stats"], args.seconds)
    base_rows, base_window = summarise(baseline["stats"], args.baseline_seconds)
    base = base_rows["baseline"]
    base_p50, base_p99 = percentile(base["histogram"], 0.5), percentile(base["histogram"], 0.99)
    print()
    threads = f" --threads {args.threads}" if args.worker_class == "gthread" else ""
    print(f"{args.kiosks} kiosks, nginx (TLS) -> {args.instances} instances x gunicorn -k {args.worker_class} -w {args.workers}"
          f"{threads}, PostgreSQL, look-up limits counted in {limiter};\n"
          f"{args.seconds} s of steady load after a ramp-up of {args.kiosks / args.spawn_rate:.0f} s (requests/s over those "
          f"{args.seconds} s; latencies also over the last journeys finishing); think {args.think:g} s a screen, the phone "
          f"pays after {args.pay_after} polls; locust, nginx and PostgreSQL on the same {os.cpu_count()} cores")
    print(f"{'step':28} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'p99/base':>9}")
    worst = 0.0
    for step in [*STEPS, *sorted(name for name in rows if name not in STEPS)]:
        if step not in rows:
            continue
        row = rows[step]
        p50, p99 = percentile(row["histogram"], 0.5), percentile(row["histogram"], 0.99)
        journeys = step.startswith("journey")
        ratio = f"{p99 / base_p99:8.1f}x" if step in STEPS else ""
        if step in STEPS:
            worst = max(worst, p99 / base_p99)
        print(f"{step:28} {row['requests']:9d} {row['steady'] / window:8.1f} {p50:8.0f} {p99:8.0f} {row['failures']:7d} {ratio:>9}")
        if args.verbose and not journeys:
            for entry in row["names"]:
                hist = {int(float(k)): v for k, v in entry["response_times"].items()}
                print(f"  {entry['name']:56} {entry['num_requests']:7d} {percentile(hist, 0.5):6.0f} {percentile(hist, 0.99):6.0f}")
    total = sum(row["requests"] for step, row in rows.items() if step in STEPS)
    steady = sum(row["steady"] for step, row in rows.items() if step in STEPS)
    errors = sum(row["failures"] for step, row in rows.items() if step in STEPS)
    print(f"{'all steps':28} {total:9d} {steady / window:8.1f} {'':>8} {'':>8} {errors:7d}")
    print(f"{'baseline: GET /order':28} {base['requests']:9d} {base['steady'] / base_window:8.1f} {base_p50:8.0f} "
          f"{base_p99:8.0f} {base['failures']:7d} {'1.0x':>9}")
    print(f"(baseline: the primary-key read of bench/baseline_app.py behind the same proxy and gunicorn settings, "
          f"{args.kiosks} users offering together the surge's {steady / window:.0f} requests/s)")
    print(f"worst step p99 / baseline p99: {worst:.1f}x (goal <= {P99_GOAL:.0f}x): {'met' if worst <= P99_GOAL else 'NOT met'}")
    for name, error, count in sorted(surge["failures"], key=lambda reason: -reason[2])[:10]:
        print(f"  error: {count} x {name}: {error[:120]}")
    print()
    print("payment attempts by status: " + ", ".join(f"{status} {count}" for status, count in orders.items()))
    for when, found in audits:
        print(f"double payments {when}: " + ", ".join(f"{name} {count}" for name, count in found.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=20, help="kiosks started per second during the ramp-up")
    parser.add_argument("--seconds", type=int, default=60, help="steady load after the ramp-up")
    parser.add_argument("--baseline-seconds", type=int, default=30)
    parser.add_argument("--instances", type=int, default=2)
    # README's production command is gunicorn -w 4 (sync workers); gthread -w 2 --threads 4 did worse here
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per instance")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread only)")
    parser.add_argument("--think", type=float, default=3.0, help="seconds a citizen spends on each screen")
    parser.add_argument("--pay-after", type=int, default=5, help="polls (seconds) before the phone pays")
    parser.add_argument("--persons", type=int, help="synthetic citizens (default: enough for every journey)")
    parser.add_argument("--pay", choices=("simulator", "sandbox"), default="simulator",
                        help="the phones pay through the gateway simulator (Alipay and WeChat Pay adapters, two QR "
                             "codes an order) or the in-database sandbox (one QR code)")
    parser.add_argument("--limiter", choices=("redis", "memory"),
                        default="redis" if shutil.which("redis-server") else "memory")
    parser.add_argument("--verbose", action="store_true", help="also each request of each step")
    args = parser.parse_args()
    ramp = math.ceil(args.kiosks / args.spawn_rate)
    # a journey takes at least 4 think times and pay-after + 1 polls of a second each
    shortest = 4 * args.think + args.pay_after + 1
    persons = args.persons or math.ceil(args.kiosks * (ramp + args.seconds + 20) / shortest * 1.2) + 100
    for tool in ("locust", "gunicorn"):
        if not (BIN / tool).exists():
            sys.exit(f"{tool} is missing: pip install -e '.[bench]' (make bench-surge does it)")
    for tool, package in (("openssl", "openssl"), ("nginx", "nginx-light")):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install -y {package} (the TLS proxy in front of the instances)")

    database = f"kiosk_surge_{secrets.token_hex(4)}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    except sa.exc.OperationalError as exc:
        sys.exit(f"PostgreSQL is not available at {PG}: {str(exc).splitlines()[0]}")
    url = f"{PG}/{database}"
    processes: list[subprocess.Popen] = []
    doubled = 0
    folder = pathlib.Path(tempfile.mkdtemp(prefix="kiosk-surge-"))
    try:
        secret, digest_key, sandbox_key, verify_key = (secrets.token_urlsafe(48) for _ in range(4))
        print(f"seeding {persons} synthetic citizens into {database} ...", flush=True)
        prepare(url, digest_key, persons)
        cert, key = make_certificate(folder)
        base_env = clean_environ()
        limiter = "memory:// (each process counts apart)"
        limiter_uri = "memory://"
        if args.limiter == "redis":
            redis_port = free_port()
            redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True)
            processes.append(redis)
            wait_for_port(redis, redis_port, "redis-server")
            limiter_uri = f"redis://127.0.0.1:{redis_port}"
            limiter = "one redis shared by every instance and worker"
        ports = [free_port() for _ in range(args.instances)]
        base_ports = [free_port() for _ in range(args.instances)]
        public_port, baseline_public_port = free_port(), free_port()
        pay_env, wallet_origin, simulator_ports = {"KIOSK_PAYMENT_PROVIDERS": "sandbox"}, "", None
        if args.pay == "simulator":
            simulator_ports = (free_port(), free_port())
            simulator, pay_env = start_simulator(folder, cert, base_env, simulator_ports[1], simulator_ports[0])
            processes.append(simulator)
            wallet_origin = pay_env.pop("SURGE_WALLET_ORIGIN")
        processes.append(start_nginx(folder, cert, key, public_port, ports, baseline_public_port, base_ports, simulator_ports))
        public = f"https://localhost:{public_port}"
        app_env = {
            **base_env,
            "KIOSK_DATABASE_URL": url, "KIOSK_SECRET_KEY": secret, "KIOSK_ID_DIGEST_KEY": digest_key,
            "KIOSK_SANDBOX_SIGNING_KEY": sandbox_key, "KIOSK_VERIFY_KEY": verify_key, "KIOSK_TRAINING_MODE": "on", "KIOSK_RATELIMIT_STORAGE_URI": limiter_uri,
            **LIMITS, **pay_env,
            # the sandbox posts its notifications to https://localhost:<port>/payments/notify/sandbox
            # from inside the app: it must trust the bench's self-signed certificate (the simulator too)
            "SSL_CERT_FILE": str(cert),
        }
        for index, port in enumerate(ports):
            env = {**app_env, "KIOSK_PUBLIC_BASE_URL": public, "KIOSK_TERMINAL_CODE": f"SURGE-{chr(ord('A') + index)}"}
            processes.append(gunicorn("wsgi:app", port, env, args, folder / f"app-{index}.log"))
        context = ssl.create_default_context(cafile=str(cert))
        for _ in ports:  # round robin: each instance answers once
            with urllib.request.urlopen(public + "/", context=context, timeout=30) as response:
                assert response.status == 200, response.status

        print(f"surge: {args.kiosks} kiosks on {public} ({args.instances} instances), ramp-up {ramp} s, "
              f"steady {args.seconds} s ...", flush=True)
        locust_env = {**base_env, "SURGE_HOSTS": public, "SURGE_PERSONS": str(persons),
                      "SURGE_THINK_SECONDS": str(args.think), "SURGE_PAY_AFTER_POLLS": str(args.pay_after),
                      "SURGE_PAY": args.pay, "SURGE_WALLET_ORIGIN": wallet_origin}
        surge = run_locust("Kiosk", args.kiosks, args.spawn_rate, ramp + args.seconds, locust_env, folder)

        engine = sa.create_engine(url)
        time.sleep(5)  # notifications still on their way (the sandbox retries after 1 and 3 s)
        audits = []
        # the simulator keeps its trades in memory: what it took is what the phones saw paid
        phones_paid = phone_payments(surge["stats"]) if args.pay == "simulator" else None
        with engine.connect() as connection:
            audits.append(("right after the load", double_payments(connection, phones_paid)))
        reconcile = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "reconcile"], cwd=ROOT, capture_output=True, text=True,
                                   env={**app_env, "KIOSK_PUBLIC_BASE_URL": public, "KIOSK_TERMINAL_CODE": "SURGE-A"})
        with engine.connect() as connection:
            audits.append((f"after flask reconcile ({reconcile.stdout.strip() or reconcile.stderr.strip()[-200:]})",
                           double_payments(connection, phones_paid)))
            orders = order_counts(connection)
            order_id = connection.execute(sa.text("SELECT min(order_id) FROM payment_attempt")).scalar_one()
        engine.dispose()
        for process in processes[-args.instances:]:
            stop(process)

        rows, window = summarise(surge["stats"], args.seconds)
        requests = sum(row["steady"] for step, row in rows.items() if step in STEPS)
        rate = max(requests / window / args.kiosks, 0.01)
        base_env_app = {**base_env, "BENCH_DATABASE_URL": url, "BENCH_ORDER_ID": str(order_id or 1)}
        for index, port in enumerate(base_ports):
            processes.append(gunicorn("bench.baseline_app:create()", port, base_env_app, args, folder / f"base-{index}.log"))
        print(f"baseline: {args.kiosks} users at {rate:.2f} requests/s each, {args.baseline_seconds} s ...", flush=True)
        baseline = run_locust("Baseline", args.kiosks, args.spawn_rate, ramp + args.baseline_seconds,
                              {**base_env, "SURGE_BASELINE_HOSTS": f"https://localhost:{baseline_public_port}",
                               "SURGE_BASELINE_RATE": f"{rate:.4f}"}, folder)
        print_report(surge, baseline, audits, orders, args, limiter)
        doubled = sum(count for _, found in audits for count in found.values())
    finally:
        for process in reversed(processes):
            stop(process)
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        print(f"(logs of the servers and locust: {folder})")
    if doubled:
        sys.exit("DOUBLE PAYMENTS FOUND: see the counts above")


if __name__ == "__main__":
    main()
