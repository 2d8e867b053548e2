"""Helpers for route tests: drive the journey as a browser would, CSRF tokens included."""
from __future__ import annotations

import re

from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import PaymentOrder

# demo people (kiosk/demo.py); the README lists the same numbers
ZHAO_MIN = "110105198509120427"  # flexible employment medical: two overdue months and this month
ZHANG_SAN = "11010519900307013X"  # resident medical, one year due
LI_XIAOHONG = "110105195811200248"  # resident medical, minimum living guarantee subsidy
WANG_DASHAN = "11010519470615031X"  # extreme poverty: fully subsidised, nothing to pay
CHEN_JIANGUO = "110105197602030552"  # two schemes with arrears
LIU_FANG = "110105199204180669"  # employee medical only: nothing payable at a kiosk
SUN_LI = "110105196807300726"  # already paid
QIAN_LEGACY_15 = "110105530101123"  # a 15-digit legacy number
NOT_INSURED = "110105199912312001"  # valid, but nobody here has it
# the demo family (seed 003): the father pays for his mother and his son with one QR code
HUANG_ZHIQIANG = "110105197803151510"  # resident medical, next year due (¥400.00): the payer
HUANG_XIULAN = "110105195004212621"  # resident medical, minimum living guarantee: 70 % subsidy, ¥120.00
HUANG_ZIHAN = "110105200006181834"  # flexible employment medical: two overdue months with late fees, and this month


def csrf_token(page_html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page_html).group(1)


class Journey:
    """One citizen at one terminal, through the Flask test client."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        if response.status_code == 200 and "csrf-token" in response.text:
            self.token = csrf_token(response.text)
        return response

    def post(self, url, data=None, htmx=False, **kwargs):
        if self.token is None:
            self.get("/")
        headers = {"X-CSRFToken": self.token}
        if htmx:
            headers["HX-Request"] = "true"
        return self.client.post(url, data=data or {}, headers=headers, **kwargs)

    def start(self):
        self.get("/")
        return self.post("/start")

    def identify(self, number):
        self.start()
        self.get("/identify")
        return self.post("/identify", {"id_number": number})

    def add_member(self, number, confirm=True):
        """On the dues screen: Add a family member, the number, Next, then (``confirm``) Yes.
        Returns the last response."""
        self.get("/family/add")
        response = self.post("/family/add", {"id_number": number})
        if response.status_code != 303 or not confirm:
            return response
        self.get("/family/confirm")
        return self.post("/family/confirm")

    def dues(self):
        page = self.get("/dues")
        bills = [int(b) for b in re.findall(r'name="bills" value="(\d+)"', page.text)]
        key = re.search(r'name="key" type="hidden" value="([^"]*)"', page.text)
        return page, bills, key.group(1) if key else None

    def pay(self, number, pick=None):
        """Identify, look at the dues, tap Pay; returns the payment order the server made."""
        self.identify(number)
        _, bills, key = self.dues()
        self.post("/pay", {"bills": bills if pick is None else pick(bills), "key": key})
        return latest_order()


    def paid_receipt(self, app, number):
        """Identify, pay everything with the sandbox wallet on a second device, and open the
        receipt screen (its response)."""
        with app.app_context():
            token = wallet_token(self.pay(number))
        wallet = Journey(app.test_client())
        assert wallet.post(f"/sandbox/wallet/{token}/pay").status_code == 200
        app.config["PROVIDER_QUERY_INTERVAL_SECONDS"] = 0  # notify is off in tests: the kiosk finds the payment by asking
        self.get("/payment")
        return self.get("/receipt")


def latest_order() -> PaymentOrder | None:
    db.session.expire_all()
    return db.session.scalars(select(PaymentOrder).order_by(PaymentOrder.id.desc())).first()


def wallet_token(order: PaymentOrder) -> str:
    return order.attempt.qr_payload.rsplit("/", 1)[1]


def amount_text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""
