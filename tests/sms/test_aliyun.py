"""The Alibaba Cloud gateway, the real SDK against a local fake of dysmsapi: what it sends, what it
makes of each kind of answer, that it sends once, and that the number and code stay out of errors."""
from __future__ import annotations

import json
import logging
import socket
import threading
import traceback

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from kiosk.sms.aliyun import AliyunSms
from kiosk.sms.base import SmsError, SmsThrottled, SmsUncertain

PHONE = "13812345678"
CODE = "482913"
BIZ_ID = "900619746936498440^0"


class FakeDysmsapi:
    """Records every request and answers with ``status``/``body`` after ``delay`` seconds."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status, self.body, self.content_type, self.delay = 200, {}, "application/json;charset=utf-8", 0.0
        self.release = threading.Event()
        self.server = make_server("127.0.0.1", 0, self.wsgi_app, threaded=True)
        self.port = self.server.server_port

    def answer(self, body, status=200, delay=0.0, content_type="application/json;charset=utf-8"):
        self.body, self.status, self.delay, self.content_type = body, status, delay, content_type

    @Request.application
    def wsgi_app(self, request: Request) -> Response:
        self.requests.append({"method": request.method, "path": request.path, "headers": dict(request.headers),
                              "params": {**request.args.to_dict(), **request.form.to_dict()}})
        if self.delay:
            self.release.wait(self.delay)
        body = self.body if isinstance(self.body, str) else json.dumps(self.body, ensure_ascii=False)
        return Response(body, status=self.status, content_type=self.content_type)


@pytest.fixture(autouse=True)
def plain_client(caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)  # so that assert_kept_secret sees every record
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "DEBUG"):
        monkeypatch.delenv(name, raising=False)  # the SDK reads them itself, proxies and DEBUG=sdk


@pytest.fixture
def fake():
    server = FakeDysmsapi()
    thread = threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


def gateway_at(port: int, timeout_seconds: float = 5) -> AliyunSms:
    return AliyunSms("LTAI-test-key", "test-secret", "社保自助", "SMS_123456789",
                     endpoint=f"127.0.0.1:{port}", protocol="http", timeout_seconds=timeout_seconds)


@pytest.fixture
def gateway(fake):
    return gateway_at(fake.port)


def logged_by_the_client(caplog) -> list[str]:
    """Every record but the fake's own access log (urllib3 logs each request line at DEBUG)."""
    return [record.getMessage() for record in caplog.records if record.name != "werkzeug"]


def assert_kept_secret(error: BaseException, caplog) -> None:
    """Neither the reason, nor the message, nor a logged traceback, nor a log record of the client
    side shows the number or the code."""
    shown = " ".join([error.reason, str(error), repr(error), "".join(traceback.format_exception(error)),
                      *logged_by_the_client(caplog)])
    assert PHONE not in shown and CODE not in shown, shown


def test_ok_sends_the_code_in_the_template_and_returns_the_biz_id(fake, gateway, caplog):
    fake.answer({"Code": "OK", "Message": "OK", "BizId": BIZ_ID, "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"})

    assert gateway.send_code(PHONE, CODE) == BIZ_ID

    [sent] = fake.requests
    assert (sent["method"], sent["path"]) == ("POST", "/")
    assert sent["headers"]["X-Acs-Action"] == "SendSms"
    assert sent["headers"]["X-Acs-Version"] == "2017-05-25"
    assert sent["headers"]["Authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAI-test-key,")
    params = sent["params"]
    assert params["PhoneNumbers"] == PHONE
    assert params["SignName"] == "社保自助"
    assert params["TemplateCode"] == "SMS_123456789"
    assert json.loads(params["TemplateParam"]) == {"code": CODE}
    request_lines = [line for line in logged_by_the_client(caplog) if '"POST /' in line]
    assert request_lines, "urllib3 no longer logs the request line: nothing left to hide"
    assert not [line for line in request_lines if PHONE in line or CODE in line], request_lines


@pytest.mark.parametrize("status", [200, 400])
def test_flow_control_is_throttled(fake, gateway, status, caplog):
    fake.answer({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1",
                 "RequestId": "E2DB2A67-7C1A-4CD0-9DC1-6B0E4AB4A2A1"}, status=status)

    with pytest.raises(SmsThrottled) as raised:
        gateway.send_code(PHONE, CODE)

    assert "isv.BUSINESS_LIMIT_CONTROL" in raised.value.reason
    assert "Permits:1" in raised.value.reason
    assert len(fake.requests) == 1
    assert_kept_secret(raised.value, caplog)


@pytest.mark.parametrize(("status", "provider_code", "message"), [
    (200, "isv.MOBILE_NUMBER_ILLEGAL", f"非法手机号 {PHONE}"),  # provider words echoing the number
    (200, "isv.AMOUNT_NOT_ENOUGH", "账户余额不足"),
    (200, "isv.TEMPLATE_PARAMS_ILLEGAL", f"模板变量里包含非法关键字 code={CODE}"),
    (400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."),
    (500, "InternalError", "The request processing has failed due to some unknown error."),
])
def test_any_other_code_is_an_error_naming_it(fake, gateway, status, provider_code, message, caplog):
    fake.answer({"Code": provider_code, "Message": message, "RequestId": "0A974B78-02BF-4C79-ADF3-90CFBA1B55B1"},
                status=status)

    with pytest.raises(SmsError) as raised:
        gateway.send_code(PHONE, CODE)

    assert type(raised.value) is SmsError
    assert provider_code in raised.value.reason
    assert len(fake.requests) == 1
    assert_kept_secret(raised.value, caplog)


# the provider had the request and gave no clear refusal: the message may have gone out, so the
# code is kept and counted (SmsUncertain); an answer with a Code other than OK is a refusal
@pytest.mark.parametrize(("status", "body", "content_type", "kind"), [
    (200, "<html>502 Bad Gateway</html>", "text/html", SmsUncertain),
    (500, "<html>Internal Server Error</html>", "text/html", SmsUncertain),
    (200, {}, "application/json", SmsUncertain),
    (200, [], "application/json", SmsUncertain),
    (200, {"Code": "OK", "Message": "OK", "RequestId": "no-biz-id"}, "application/json", SmsUncertain),
])
def test_a_malformed_answer_is_an_error(fake, gateway, status, body, content_type, kind, caplog):
    fake.answer(body, status=status, content_type=content_type)

    with pytest.raises(SmsError) as raised:
        gateway.send_code(PHONE, CODE)

    assert type(raised.value) is kind
    assert len(fake.requests) == 1
    assert_kept_secret(raised.value, caplog)


def test_a_slow_answer_times_out_once(fake, caplog):
    fake.answer({"Code": "OK", "Message": "OK", "BizId": BIZ_ID, "RequestId": "late"}, delay=3)

    with pytest.raises(SmsUncertain) as raised:  # it may well have been sent
        gateway_at(fake.port, timeout_seconds=1).send_code(PHONE, CODE)

    assert "Timeout" in raised.value.reason
    assert len(fake.requests) == 1
    assert_kept_secret(raised.value, caplog)


def test_a_refused_connection_is_an_error(caplog):
    with socket.socket() as bound_not_listening:  # holds the port so nobody else answers on it
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]

        with pytest.raises(SmsError) as raised:
            gateway_at(port, timeout_seconds=1).send_code(PHONE, CODE)

    assert type(raised.value) is SmsError
    assert "ConnectionError" in raised.value.reason
    assert_kept_secret(raised.value, caplog)
