"""Payment providers behind one interface (``base.PaymentProvider``), bound to the app like an
extension (Flask's extension pattern): ``init_app`` registers them in ``app.extensions``, so CLI
commands and services reach them without the web layer."""
from __future__ import annotations

from flask import Flask, current_app

from .base import PaymentProvider

EXTENSION = "kiosk_payments"


def notify_path(provider_name: str) -> str:
    """Where a provider posts its callbacks (the callbacks blueprint serves exactly this path)."""
    return f"/payments/notify/{provider_name}"


def build_provider(name: str, config, engine_source) -> PaymentProvider:
    if name == "sandbox":
        from .sandbox import SandboxProvider

        return SandboxProvider(engine_source, config["SANDBOX_SIGNING_KEY"], config["SANDBOX_NOTIFY"])
    # the key files are read here, once, when the app is built (config/settings.py checked them)
    from config.settings import read_apiv3_key, read_key_file

    if name == "alipay":
        from .alipay import AlipayProvider

        return AlipayProvider(app_id=config["ALIPAY_APP_ID"], app_private_key=read_key_file(config["ALIPAY_APP_PRIVATE_KEY_FILE"]),
                              alipay_public_key=read_key_file(config["ALIPAY_PUBLIC_KEY_FILE"]),
                              gateway_url=config["ALIPAY_GATEWAY"], timeout=config["PROVIDER_TIMEOUT_SECONDS"])
    if name == "wechat":
        from .wechat import WechatPayProvider

        return WechatPayProvider(mchid=config["WECHAT_MCHID"], appid=config["WECHAT_APPID"],
                                 private_key_pem=read_key_file(config["WECHAT_PRIVATE_KEY_FILE"]),
                                 cert_serial_no=config["WECHAT_CERT_SERIAL"],
                                 apiv3_key=read_apiv3_key(config["WECHAT_APIV3_KEY_FILE"]),
                                 platform_public_key_pem=read_key_file(config["WECHAT_PUBLIC_KEY_FILE"]),
                                 platform_public_key_id=config["WECHAT_PUBLIC_KEY_ID"],
                                 gateway=config["WECHAT_GATEWAY"], timeout_s=config["PROVIDER_TIMEOUT_SECONDS"])
    raise ValueError(f"unknown payment provider {name!r}")


class Payments:
    """The providers this app takes payments with, by name, in the order their QR codes are shown."""

    def __init__(self, providers: dict[str, PaymentProvider]):
        self.providers = providers

    @property
    def offered(self) -> list[PaymentProvider]:
        """What a new order offers: one attempt, and one QR code, per provider."""
        return list(self.providers.values())

    @property
    def default(self) -> PaymentProvider:
        return self.offered[0]

    def get(self, name: str) -> PaymentProvider | None:
        return self.providers.get(name)


def init_app(app: Flask) -> None:
    from ..extensions import db

    app.extensions[EXTENSION] = Payments({name: build_provider(name, app.config, lambda: db.engine)
                                          for name in app.config["PAYMENT_PROVIDERS"]})


def payments(app: Flask | None = None) -> Payments:
    return (app or current_app).extensions[EXTENSION]


def provider(app: Flask | None = None) -> PaymentProvider:
    """The first provider (for a one-provider app: its only one)."""
    return payments(app).default
