"""Locust users for ``bench/surge.py`` (locust 2.x, headless; started by that script, which sets
the environment variables below).

- ``Kiosk``: one kiosk of the hall. Each runs ``bench.surge_journey.journey`` over and over,
  each time for the next synthetic citizen (``bench.surge_people.id_number``; shared counter, so
  no two journeys take the same person's bills), on the app instance its number picks
  (SURGE_HOSTS, comma-separated, taken in turn). Its phone is a second client with cookies of
  its own. A finished journey is counted as ``JOURNEY complete`` (its time in the figures is the
  whole journey's), a failed one as ``JOURNEY failed at <step>``.
- ``Baseline``: the primary-key read of ``bench/baseline_app.py`` (``GET /order``), on the
  baseline's instances (SURGE_BASELINE_HOSTS), each user at SURGE_BASELINE_RATE requests/s.

SURGE_PERSONS (how many synthetic people exist), SURGE_THINK_SECONDS, SURGE_PAY_AFTER_POLLS,
SURGE_PAY (``simulator`` or ``sandbox``: ``bench.surge_journey.PAYS``), SURGE_WALLET_ORIGIN (the
simulator's http://host:port, where phones open its wallet pages).
"""
from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import gevent
from locust import FastHttpUser, User, constant, constant_throughput, task
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.surge_journey import PAYS, Answer, JourneyFailed, journey, referer_on  # noqa: E402
from bench.surge_people import id_number  # noqa: E402

_kiosks = itertools.count()
_people = itertools.count()
_baselines = itertools.count()


def _hosts(variable: str) -> list[str]:
    return [host for host in os.environ.get(variable, "").split(",") if host]


class LocustBrowser:
    """The journey's Browser over locust's FastHttpSession (keep-alive, a cookie jar of its own;
    TLS certificates not checked: the bench's certificate is self-signed)."""

    def __init__(self, user: User, base_url: str):
        self.origin = base_url
        # no retries: a browser does not post a form twice behind the citizen's back
        self.session = FastHttpSession(base_url=base_url, request_event=user.environment.events.request, user=user,
                                       insecure=True, max_retries=0, network_timeout=60.0, connection_timeout=60.0)

    def request(self, name, method, url, body=None, headers=None):
        with self.session.request(method, url, name=name, data=body, headers=referer_on(self.origin, headers), allow_redirects=False,
                                  catch_response=True) as response:
            status = response.status_code or 0
            if status == 0 or status >= 400:
                response.failure(f"{status}")
            else:
                response.success()
            return Answer(status, dict((response.headers or {}).items()), response.text or "")


class Kiosk(User):
    wait_time = constant(0)

    def on_start(self):
        hosts = _hosts("SURGE_HOSTS")
        self.base_url = hosts[next(_kiosks) % len(hosts)]
        self.persons = int(os.environ["SURGE_PERSONS"])
        self.think = float(os.environ.get("SURGE_THINK_SECONDS", "1"))
        self.pay_after = int(os.environ.get("SURGE_PAY_AFTER_POLLS", "3"))
        # where the phone pays: the gateway simulator's wallet (its own origin) or the sandbox's (the kiosk's)
        self.pay = PAYS[os.environ.get("SURGE_PAY", "sandbox")]
        self.wallet_origin = os.environ.get("SURGE_WALLET_ORIGIN") or self.base_url
        # the kiosk's browser stays (its connections too); each citizen brings a phone of their own
        self.kiosk = LocustBrowser(self, self.base_url)
        # the connection's TLS handshake and the worker's first request, apart from the figures
        self.kiosk.request("warm-up: GET /", "GET", "/")

    @task
    def citizen(self):
        index = next(_people)
        if index >= self.persons:
            self._report("JOURNEY", "out of synthetic people", 0, RuntimeError("seed more people (--persons)"))
            raise StopUser()
        phone = LocustBrowser(self, self.wallet_origin)
        started = time.perf_counter()
        try:
            journey(self.kiosk, phone, id_number(index), sleep=gevent.sleep, think_seconds=self.think,
                    pay_after_polls=self.pay_after, pay=self.pay)
        except JourneyFailed as failure:
            self._report("JOURNEY", f"failed at {failure.step}", started, failure)
        except (StopUser, gevent.GreenletExit):
            raise
        except Exception as error:  # a connection that broke, a timeout: counted, and the next citizen comes
            self._report("JOURNEY", f"failed: {type(error).__name__}", started, error)
        else:
            self._report("JOURNEY", "complete", started, None)

    def _report(self, kind: str, name: str, started: float, exception):
        elapsed = (time.perf_counter() - started) * 1000 if started else 0
        self.environment.events.request.fire(request_type=kind, name=name, response_time=elapsed, response_length=0,
                                             exception=exception, context={})


class Baseline(FastHttpUser):
    insecure = True

    def __init__(self, environment):
        hosts = _hosts("SURGE_BASELINE_HOSTS")
        self.host = hosts[next(_baselines) % len(hosts)]
        super().__init__(environment)

    wait_time = constant_throughput(float(os.environ.get("SURGE_BASELINE_RATE", "1")))

    def on_start(self):
        self.client.get("/order", name="warm-up: GET /order")

    @task
    def read(self):
        self.client.get("/order", name="baseline: GET /order")
