"""A local fake of the WeChat Pay v3 gateway: the package's simulator
(``kiosk.payments.simulator.wechat``) on a socket of its own, sending no notifications (tests
build them with :meth:`callback` and post them themselves)."""
from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from kiosk.payments.simulator.keys import new_key, pkcs8_pem, public_pem, rsa_sign  # noqa: F401  (the tests' helpers)
from kiosk.payments.simulator.wechat import Order, Refund, WechatSimulator

from .server import LocalServer

FakeOrder, FakeRefund = Order, Refund
new_rsa_key = new_key
private_pem = pkcs8_pem  # WeChat's merchant keys are PKCS#8


class FakeWechatGateway(WechatSimulator):
    def __init__(self, *, mchid: str, appid: str, merchant_key: rsa.RSAPrivateKey, merchant_serial: str,
                 platform_key: rsa.RSAPrivateKey, public_key_id: str, apiv3_key: str):
        self._http = LocalServer(lambda handler, method, raw: self.serve(method, handler.path, raw,
                                                                         handler.headers.get("Authorization", "")))
        super().__init__(mchid=mchid, appid=appid, merchant_public_key=public_pem(merchant_key), merchant_serial=merchant_serial,
                         platform_key=platform_key, public_key_id=public_key_id, apiv3_key=apiv3_key,
                         api_base=self._http.base_url)
        self.delay = 2.0

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def delay_s(self) -> float:
        return self.delay

    @delay_s.setter
    def delay_s(self, value: float) -> None:
        self.delay = value

    def start(self) -> FakeWechatGateway:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()
