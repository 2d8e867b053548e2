"""A simulator of the Alipay and WeChat Pay gateways, so that the adapters in
``kiosk.payments.alipay`` and ``kiosk.payments.wechat`` run unchanged in the demo, the browser
tests and a benchmark: the same signed requests, answers, QR codes and notifications as the real
providers, with a wallet page a phone opens instead of the providers' apps.

Plain Python (no Flask): ``kiosk.web.simulator`` serves it in the app or as a process of its own,
the tests' fakes serve it from a thread. State is in memory, behind a lock per gateway: one
process (with any number of threads) holds the simulator's trades. See :class:`Simulator`.
"""
from __future__ import annotations

import os

from .alipay import AlipaySimulator
from .faults import GATEWAY_FAULTS, NOTIFY_FAULTS, Faults
from .keys import (ALIPAY_APP_ID, WECHAT_APPID, WECHAT_CERT_SERIAL, WECHAT_MCHID, WECHAT_PUBLIC_KEY_ID, ensure_keys,
                   load_private, paths, read)
from .notify import Notifier
from .wechat import WechatSimulator

__all__ = ["AlipaySimulator", "WechatSimulator", "Faults", "Notifier", "Simulator", "GATEWAY_FAULTS", "NOTIFY_FAULTS",
           "ensure_keys", "provider_settings"]


class Simulator:
    """Both gateways, one set of fault switches and one notifier, on the keys in ``keys_dir``.

    ``api_base``: where the adapters reach it (``<api_base>/alipay/gateway.do``,
    ``<api_base>/wechat``); ``wallet_base``: where phones open its wallet pages (QR codes)."""

    def __init__(self, keys_dir: str | os.PathLike, *, api_base: str, wallet_base: str, notifier: Notifier | None = None):
        keys = read(keys_dir)
        self.faults = notifier.faults if notifier else Faults()
        self.notifier = notifier or Notifier(self.faults)
        api_base, wallet_base = api_base.rstrip("/"), wallet_base.rstrip("/")
        self.alipay = AlipaySimulator(app_id=ALIPAY_APP_ID, app_public_key=keys["alipay_app_public"],
                                      alipay_private_key=load_private(keys["alipay_private"]),
                                      api_base=api_base + "/alipay", wallet_base=wallet_base + "/alipay",
                                      notifier=self.notifier, faults=self.faults)
        self.wechat = WechatSimulator(mchid=WECHAT_MCHID, appid=WECHAT_APPID, merchant_public_key=keys["wechat_merchant_public"],
                                      merchant_serial=WECHAT_CERT_SERIAL,
                                      platform_key=load_private(keys["wechat_platform_private"]),
                                      public_key_id=WECHAT_PUBLIC_KEY_ID, apiv3_key=keys["wechat_apiv3_key"].strip(),
                                      api_base=api_base + "/wechat", wallet_base=wallet_base + "/wechat",
                                      notifier=self.notifier, faults=self.faults, served=True)


def provider_settings(keys_dir: str | os.PathLike, api_base: str) -> dict[str, dict[str, str]]:
    """The app's settings (config/settings.py names) that point each adapter at the simulator."""
    files = paths(keys_dir)
    api_base = api_base.rstrip("/")
    return {
        "alipay": {"ALIPAY_APP_ID": ALIPAY_APP_ID, "ALIPAY_APP_PRIVATE_KEY_FILE": str(files["alipay_app_private"]),
                   "ALIPAY_PUBLIC_KEY_FILE": str(files["alipay_public"]), "ALIPAY_GATEWAY": api_base + "/alipay/gateway.do"},
        "wechat": {"WECHAT_MCHID": WECHAT_MCHID, "WECHAT_APPID": WECHAT_APPID,
                   "WECHAT_PRIVATE_KEY_FILE": str(files["wechat_merchant_private"]), "WECHAT_CERT_SERIAL": WECHAT_CERT_SERIAL,
                   "WECHAT_APIV3_KEY_FILE": str(files["wechat_apiv3_key"]),
                   "WECHAT_PUBLIC_KEY_FILE": str(files["wechat_platform_public"]),
                   "WECHAT_PUBLIC_KEY_ID": WECHAT_PUBLIC_KEY_ID, "WECHAT_GATEWAY": api_base + "/wechat"},
    }
