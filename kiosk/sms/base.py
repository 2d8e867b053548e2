"""What the kiosk needs of an SMS gateway: send a one-time code to a phone (issue 9).

Two implementations, picked by ``SMS_GATEWAY``: ``sandbox`` (``kiosk.sms.sandbox``: keeps the
message in the database, shown on a developer page and read by tests) and ``aliyun``
(``kiosk.sms.aliyun``: Alibaba Cloud SMS, dysmsapi 2017-05-25).
"""
from __future__ import annotations

from typing import Protocol


class SmsError(Exception):
    """The message was not sent. ``reason`` is for the operator's log, never for the citizen
    (it may carry the provider's words); the citizen is told to try again later."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SmsThrottled(SmsError):
    """The provider's flow control refused it (Alibaba Cloud: ``isv.BUSINESS_LIMIT_CONTROL``,
    too many messages to one number in a minute, hour or day): waiting is the only cure."""


class SmsUncertain(SmsError):
    """No usable answer (a timeout once the request was out, a broken connection, a garbled
    reply): the message may have been sent. The code is kept and counts against the limits."""


class SmsGateway(Protocol):
    name: str

    def send_code(self, phone: str, code: str) -> str:
        """Send ``code`` (6 digits) to ``phone`` (11 digits, mainland China) in the template
        agreed with the provider. Returns the provider's reference of the message; raises
        ``SmsThrottled`` or ``SmsError`` (not sent), or ``SmsUncertain`` (perhaps sent). Never logs the phone number or the code."""
        ...
