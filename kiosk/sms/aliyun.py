"""Alibaba Cloud SMS (dysmsapi 2017-05-25, ``SendSms``) for one-time codes, on the official SDK.

How the SDK (dysmsapi 4.6, tea-openapi 0.4.6, darabonba) fails, which is why this looks as it does:
a refusal such as ``isv.BUSINESS_LIMIT_CONTROL`` normally comes back as an HTTP 200 body whose
``Code`` is not ``OK``; an HTTP 4xx/5xx (``SignatureDoesNotMatch``) raises ClientException or
ServerException carrying the provider's ``code``; a timeout, a refused connection or an unreadable
body raises UnretryableException, whose text quotes the request URL, phone number and code
included, so only its type name reaches our reason. Nothing is retried: a retried send could send
a second code. The SDK puts every parameter in the query string, which urllib3 logs at DEBUG.
"""
from __future__ import annotations

import json
import logging
import re

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import SendSmsRequest
from alibabacloud_tea_openapi.models import Config
from darabonba.policy.retry import RetryOptions
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException, UnretryableException

from kiosk.sms.base import SmsError, SmsThrottled, SmsUncertain

FLOW_CONTROL = "isv.BUSINESS_LIMIT_CONTROL"
SEND_SMS_QUERY = re.compile(r"\?[^\s\"]*PhoneNumbers=[^\s\"]*")


class HideSendSmsQuery(logging.Filter):
    """Keeps urllib3's DEBUG request lines, without the query that carries the number and code."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "PhoneNumbers=" in message:
            record.msg, record.args = SEND_SMS_QUERY.sub("?(query hidden)", message), None
        return True


class AliyunSms:
    name = "aliyun"

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str, template_code: str, *,
                 endpoint: str = "dysmsapi.aliyuncs.com", protocol: str = "https", timeout_seconds: float = 10):
        self.sign_name = sign_name
        self.template_code = template_code
        # This SDK generation retries only as Config.retry_options says; the runtime's
        # autoretry/max_attempts are ignored by it, and set for older ones.
        self._client = Client(Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                     endpoint=endpoint, protocol=protocol,
                                     retry_options=RetryOptions(retryable=False)))
        urllib3_log = logging.getLogger("urllib3.connectionpool")
        if not any(isinstance(f, HideSendSmsQuery) for f in urllib3_log.filters):
            urllib3_log.addFilter(HideSendSmsQuery())
        millis = int(timeout_seconds * 1000)
        self._runtime = RuntimeOptions(connect_timeout=millis, read_timeout=millis, autoretry=False, max_attempts=0)

    def send_code(self, phone: str, code: str) -> str:
        request = SendSmsRequest(phone_numbers=phone, sign_name=self.sign_name, template_code=self.template_code,
                                 template_param=json.dumps({"code": code}))
        # `from None`: a logged traceback would otherwise show the SDK's exception, URL and all.
        try:
            body = self._client.send_sms_with_options(request, self._runtime).body
        except UnretryableException as exc:  # before TeaException, its base class
            cause = exc.inner_exception
            cause = cause.__context__ or cause  # RetryError(str(requests' exception))
            # never connected (refused, or no connection in time): not sent. Anything later (a read
            # timeout, a dropped connection, a garbled reply) may have sent the message
            never_connected = type(cause).__name__ == "ConnectTimeout" or "NewConnectionError" in repr(cause)
            kind = SmsError if never_connected else SmsUncertain
            raise kind(f"aliyun: no usable answer ({type(cause).__name__})") from None
        except TeaException as exc:
            raise _refusal(exc.code, exc.message, phone, code) from None
        except Exception as exc:  # e.g. a JSON body that is not an object: the provider had the request
            raise SmsUncertain(f"aliyun: unexpected {type(exc).__name__}") from None
        if body is None or not body.code:
            raise SmsUncertain("aliyun: an answer without a Code")  # not a refusal: perhaps sent
        if body.code != "OK":
            raise _refusal(body.code, body.message, phone, code)
        if not body.biz_id:
            raise SmsUncertain("aliyun: OK without BizId")
        return body.biz_id


def _refusal(provider_code, message, phone: str, code: str) -> SmsError:
    # The provider's words help the operator; they must not echo the number or the code.
    words = str(message or "")
    for secret in (phone, code):
        words = words.replace(secret, "***") if secret else words
    reason = f"aliyun {provider_code or 'without Code'}: {words}"
    return SmsThrottled(reason) if provider_code == FLOW_CONTROL else SmsError(reason)
