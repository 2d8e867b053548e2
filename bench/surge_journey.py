"""One citizen's whole journey at a kiosk, request by request as the browser makes them, for
``bench/surge.py`` (through locust) and ``tests/test_bench_surge.py`` (through Flask's test
client). No locust or Flask import here: both talk to the journey through a ``Browser``.

The browser's requests (templates/ and static/js/kiosk.js): buttons are plain form posts
carrying the page's CSRF token, answered 303; the ID number is an htmx post (``HX-Request``,
``X-CSRFToken``) answered 204 with ``HX-Redirect``; the QR screen asks ``/payment/status``
with htmx every second until it is sent on. The phone is another browser with its own
cookies: it opens the URL of the QR code and pays there (``pay_in_simulator`` on the gateway
simulator's wallet page, or ``pay_in_sandbox`` on the sandbox's).

Each request is named "<step>: <METHOD> <path>" in the figures, never with an ID number or a
token in it.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
BILL = re.compile(r'name="bills" value="(\d+)"')
KEY = re.compile(r'name="key" type="hidden" value="([^"]*)"')
QR_PAYLOAD = re.compile(r'data-qr-payload="([^"]+)"')
FORM = "application/x-www-form-urlencoded"

STEPS = ("new visit", "identify", "dues", "order", "poll", "pay", "receipt", "finish")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    text: str

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class Browser(Protocol):
    """What the journey needs of an HTTP client with its own cookies. ``name`` labels the
    request in the figures; redirects are never followed (the journey makes the next request
    itself, as its own line in the figures). A ``Referer`` given as a path is made absolute
    on the browser's own origin (``referer_on``)."""

    def request(self, name: str, method: str, url: str, body: str | None = None,
                headers: Mapping[str, str] | None = None) -> Answer: ...


class JourneyFailed(Exception):
    """The app answered something a browser would not have gone on from. The message names the
    step and what came back, never the ID number."""

    def __init__(self, step: str, what: str):
        super().__init__(f"{step}: {what}")
        self.step = step


def _expect(step: str, answer: Answer, status: int, location: str | None = None) -> Answer:
    if answer.status != status:
        raise JourneyFailed(step, f"answer {answer.status}, expected {status}")
    if location is not None:
        target = answer.header("HX-Redirect") if answer.status == 204 else answer.header("Location")
        if target is None or urlsplit(target).path != location:
            raise JourneyFailed(step, f"sent to {urlsplit(target or '').path or 'nowhere'}, expected {location}")
    return answer


def _csrf(step: str, answer: Answer) -> str:
    found = CSRF_META.search(answer.text)
    if not found:
        raise JourneyFailed(step, "no CSRF token on the page")
    return found.group(1)


def get(browser: Browser, step: str, path: str, *, htmx: bool = False, label: str | None = None) -> Answer:
    headers = {"HX-Request": "true"} if htmx else {}
    return browser.request(f"{step}: GET {label or path}", "GET", path, headers=headers)


def referer_on(origin: str, headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` with a path-only ``Referer`` made absolute on ``origin`` (scheme://host:port)."""
    headers = dict(headers or {})
    if headers.get("Referer", "").startswith("/"):
        headers["Referer"] = origin.rstrip("/") + headers["Referer"]
    return headers


def post(browser: Browser, step: str, path: str, fields: list[tuple[str, str]], token: str, page: str, *,
         htmx: bool = False, label: str | None = None) -> Answer:
    """A form post from ``page`` (the path the browser shows) with its CSRF token, as a form
    (hidden field) or htmx (the header too). The browser sends the page as ``Referer`` (the app's
    Referrer-Policy is same-origin), which Flask-WTF demands of every POST over https."""
    headers = {"Content-Type": FORM, "Referer": page}
    if htmx:
        headers.update({"HX-Request": "true", "X-CSRFToken": token})
    body = urlencode([("csrf_token", token), *fields])
    return browser.request(f"{step}: POST {label or path}", "POST", path, body, headers)


def pay_in_sandbox(phone: Browser, wallet_url: str) -> None:
    """The pay step on the sandbox (``KIOSK_PAYMENT_PROVIDERS=sandbox``): the QR code holds the
    sandbox wallet's page (``/sandbox/wallet/<token>``, served by the kiosk app itself): the phone
    opens it (the scan) and posts its Pay form with that page's CSRF token; the sandbox then posts
    the signed notification to the kiosk's notify URL. ``bench/surge.py --pay sandbox``.
    """
    step = "pay"
    page = _expect(step, phone.request("pay: GET /sandbox/wallet/<token>", "GET", wallet_url), 200)
    if 'id="wallet-pay"' not in page.text:
        raise JourneyFailed(step, "the wallet does not offer to pay")
    answer = phone.request("pay: POST /sandbox/wallet/<token>/pay", "POST", wallet_url.rstrip("/") + "/pay",
                           urlencode([("csrf_token", _csrf(step, page))]), {"Content-Type": FORM, "Referer": wallet_url})
    if answer.status != 200 or 'id="wallet-result"' not in answer.text or "wallet-pay" in answer.text:
        raise JourneyFailed(step, f"the wallet did not take the payment ({answer.status})")


HIDDEN_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
SIMULATOR_WALLET = re.compile(r"^/simulator/(alipay|wechat)/pay/[^/]+$")


def pay_in_simulator(phone: Browser, wallet_url: str) -> None:
    """THE pay step against the gateway simulator (``kiosk.payments.simulator``): the QR code
    holds the wallet page of the provider's app on the simulator
    (``<simulator>/simulator/<alipay|wechat>/pay/<token>``). The phone opens it (the scan) and
    taps Pay, a form post with that page's CSRF token; the simulator then posts the provider's
    own signed notification to the kiosk's notify URL. The page must then say it is paid."""
    step = "pay"
    path = urlsplit(wallet_url).path.rstrip("/")
    found = SIMULATOR_WALLET.match(path)
    if not found:
        raise JourneyFailed(step, "the QR code is not a simulator wallet")
    provider = found.group(1)
    page = _expect(step, phone.request(f"pay: GET /simulator/{provider}/pay/<token>", "GET", wallet_url), 200)
    token = HIDDEN_CSRF.search(page.text)
    if 'id="wallet-pay"' not in page.text or token is None:
        raise JourneyFailed(step, "the wallet does not offer to pay")
    answer = phone.request(f"pay: POST /simulator/{provider}/pay/<token>/pay", "POST", wallet_url.rstrip("/") + "/pay",
                           urlencode([("csrf_token", token.group(1))]), {"Content-Type": FORM, "Referer": wallet_url})
    if answer.status != 200 or 'class="result paid" id="wallet-result"' not in answer.text:
        raise JourneyFailed(step, f"the wallet did not take the payment ({answer.status})")


PAYS = {"sandbox": pay_in_sandbox, "simulator": pay_in_simulator}


def journey(kiosk: Browser, phone: Browser, id_number: str, *, sleep: Callable[[float], None], think_seconds: float = 1.0,
            pay_after_polls: int = 3, max_polls: int = 60, pay: Callable[[Browser, str], None] = pay_in_sandbox) -> int:
    """New visit, identify, dues, order (the QR), poll every second, pay on the phone after
    ``pay_after_polls`` polls, poll until sent to the receipt, finish. ``sleep`` is the user's
    pause (the citizen reading or typing ``think_seconds``, and the poll's second). Returns the
    number of polls; raises ``JourneyFailed``."""
    # new visit: the attract screen, its start button, the ID number screen
    token = _csrf("new visit", _expect("new visit", get(kiosk, "new visit", "/"), 200))
    _expect("new visit", post(kiosk, "new visit", "/start", [], token, "/"), 303, "/identify")
    token = _csrf("new visit", _expect("new visit", get(kiosk, "new visit", "/identify"), 200))
    sleep(think_seconds)

    # identify: the keypad's Next is an htmx post; the kiosk sends the browser to the person
    _expect("identify", post(kiosk, "identify", "/identify", [("id_number", id_number)], token, "/identify", htmx=True), 204, "/person")
    _expect("identify", get(kiosk, "identify", "/person"), 200)
    sleep(think_seconds)

    # dues: every payable bill stays ticked, as the screen offers them
    page = _expect("dues", get(kiosk, "dues", "/dues"), 200)
    bills, key = BILL.findall(page.text), KEY.search(page.text)
    if not bills or key is None:
        raise JourneyFailed("dues", "nothing to pay")
    sleep(think_seconds)

    # order: Pay makes the order; the QR screen shows its code
    fields = [("key", key.group(1)), *[("bills", bill) for bill in bills]]
    _expect("order", post(kiosk, "order", "/pay", fields, _csrf("dues", page), "/dues"), 303, "/payment")
    page = _expect("order", get(kiosk, "order", "/payment"), 200)
    wallet = QR_PAYLOAD.search(page.text)

    polls = 0
    while True:
        sleep(1.0)
        answer = get(kiosk, "poll", "/payment/status", htmx=True)
        polls += 1
        if answer.status not in (200, 204):
            raise JourneyFailed("poll", f"answer {answer.status}")
        if answer.header("HX-Refresh") == "true" or (wallet is None and polls == 1):
            # the QR was not ready when the screen was drawn: the browser reloads the screen
            page = _expect("order", get(kiosk, "order", "/payment"), 200)
            wallet = QR_PAYLOAD.search(page.text)
            continue
        if answer.header("HX-Redirect"):
            break
        if polls == pay_after_polls:
            if wallet is None:
                raise JourneyFailed("order", "no QR code to scan")
            pay(phone, wallet.group(1))
        if polls >= max_polls:
            raise JourneyFailed("poll", f"still waiting after {polls} polls")

    # receipt: the poll sent the browser to the payment screen, which sends it to the receipt
    _expect("receipt", get(kiosk, "receipt", "/payment"), 303, "/receipt")
    page = _expect("receipt", get(kiosk, "receipt", "/receipt"), 200)
    if 'id="receipt-number"' not in page.text:
        raise JourneyFailed("receipt", "no receipt number")
    sleep(think_seconds)

    # finish: Done ends the visit and shows the attract screen again
    _expect("finish", post(kiosk, "finish", "/done", [], _csrf("receipt", page), "/receipt"), 303, "/")
    _expect("finish", get(kiosk, "finish", "/"), 200)
    return polls
