"""SMS gateways for one-time codes (``base.SmsGateway``), bound to the app like the payment
providers: ``init_app`` builds the one ``SMS_GATEWAY`` names and registers it in
``app.extensions``; ``off`` registers none, and the records then take only the ID-card reader."""
from __future__ import annotations

from flask import Flask, current_app

from .base import SmsError, SmsGateway, SmsThrottled, SmsUncertain

EXTENSION = "kiosk_sms"

__all__ = ["SmsError", "SmsGateway", "SmsThrottled", "SmsUncertain", "init_app", "sms_gateway"]


def build_gateway(config, engine_source) -> SmsGateway | None:
    name = config.get("SMS_GATEWAY")
    if name == "sandbox":
        from .sandbox import SandboxSms

        return SandboxSms(engine_source)
    if name == "aliyun":
        from config.settings import read_key_file

        from .aliyun import AliyunSms

        return AliyunSms(config["ALIYUN_SMS_ACCESS_KEY_ID"], read_key_file(config["ALIYUN_SMS_ACCESS_KEY_SECRET_FILE"]).strip(),
                         config["ALIYUN_SMS_SIGN_NAME"], config["ALIYUN_SMS_TEMPLATE_CODE"],
                         endpoint=config["ALIYUN_SMS_ENDPOINT"], timeout_seconds=config["PROVIDER_TIMEOUT_SECONDS"])
    return None


def init_app(app: Flask) -> None:
    from ..extensions import db

    app.extensions[EXTENSION] = build_gateway(app.config, lambda: db.engine)


def sms_gateway(app: Flask | None = None) -> SmsGateway | None:
    return (app or current_app).extensions.get(EXTENSION)
