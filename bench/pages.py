"""Requests per second for the journey's pages, next to a bare Flask baseline from the same run.

In-process (Werkzeug's test client, one thread), so it measures the app's own work per
request: routing, session, database, templates. Absolute figures drift with the machine;
compare the ratios. Usage: ``python bench/pages.py [--seconds 2]``.
"""
from __future__ import annotations

import argparse
import pathlib
import re
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from flask import Flask  # noqa: E402

from kiosk import create_app  # noqa: E402


def rate(call, seconds: float) -> float:
    call()  # warm up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call()
        count += 1
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    bare = Flask("bare")
    bare.add_url_rule("/", view_func=lambda: "hello")
    bare_client = bare.test_client()

    folder = tempfile.mkdtemp()
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        from flask_migrate import upgrade

        from kiosk.demo import seed
        from kiosk.extensions import db
        from kiosk.services.uow import UnitOfWork

        upgrade()
        seed(UnitOfWork(db.session), app.config["ID_DIGEST_KEY"], app.config["TERMINAL_CODE"])
    client = app.test_client()
    client.post("/start")
    client.post("/identify", data={"id_number": "110105197602030552"})
    dues = client.get("/dues").text
    bills = re.findall(r'name="bills" value="(\d+)"', dues)
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', dues).group(1)
    client.post("/pay", data={"bills": bills, "key": key})

    cases = {
        "bare Flask hello (baseline)": lambda: bare_client.get("/"),
        "attract screen": lambda: client.get("/"),
        "identify: invalid ID (422 fragment)": lambda: client.post("/identify", data={"id_number": "110105198509120428"}, headers={"HX-Request": "true"}),
        "person screen": lambda: client.get("/person"),
        "payment status poll (every second per kiosk)": lambda: client.get("/payment/status", headers={"HX-Request": "true"}),
    }
    baseline = None
    print(f"{'case':48} {'req/s':>10} {'x baseline':>11}")
    for name, call in cases.items():
        value = rate(call, args.seconds)
        baseline = baseline or value
        print(f"{name:48} {value:10.0f} {value / baseline:11.2f}")
    # the polling load a site can carry: each kiosk on the QR screen polls once a second
    poll = rate(cases["payment status poll (every second per kiosk)"], args.seconds)
    print(f"\none process serves the QR-screen polling of about {poll:.0f} kiosks at once")


if __name__ == "__main__":
    main()
