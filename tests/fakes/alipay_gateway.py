"""A local fake of Alipay's open-platform gateway: the package's simulator
(``kiosk.payments.simulator.alipay``) on a socket of its own, sending no notifications (tests
build them with :meth:`notification` and post them themselves)."""
from __future__ import annotations

import urllib.parse

from kiosk.payments.simulator.alipay import AlipaySimulator, Trade
from kiosk.payments.simulator.keys import new_key, private_pem, public_pem, rsa_sign, rsa_verify  # noqa: F401  (the tests' helpers)

from .server import LocalServer

FakeTrade = Trade


class FakeAlipayGateway(AlipaySimulator):
    def __init__(self, *, app_id: str, app_public_key: str, alipay_private_key):
        self._http = LocalServer(self._serve_http)
        super().__init__(app_id=app_id, app_public_key=app_public_key, alipay_private_key=alipay_private_key,
                         api_base=self._http.base_url)

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def _serve_http(self, handler, method: str, raw: bytes):
        url = urllib.parse.urlsplit(handler.path)
        form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True)) if method == "POST" else None
        return self.serve(method, url.path, url.query, form)

    def start(self) -> FakeAlipayGateway:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()
