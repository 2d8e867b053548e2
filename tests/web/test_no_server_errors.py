"""No input gets a 500, and input that is refused changes nothing.

First the cases that probing found (issue 5), then properties: generated values (NUL and other
control characters, lone surrogates, bytes that are not UTF-8 in several encodings, very long
strings, non-ASCII, percent-encoded junk) go to every form field, every URL parameter and the
provider callback, on SQLite and on PostgreSQL. Each request must be answered below 500 and
must leave every order, item, receipt, bill, payment event and sandbox trade as it was.

Hypothesis runs inside each test (an inner ``@given`` function), so one app and one database
serve all of a test's examples; each example compares the database just before and just after
its own request.
"""
from __future__ import annotations

from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kiosk.extensions import db
from kiosk.models import Bill, CallbackRefusal, PaymentEvent, PaymentOrder, PaymentOrderItem, Receipt, SandboxTrade
from kiosk.payments import provider as provider_of
from kiosk.payments.sandbox import sign
from tests.helpers import ZHAO_MIN, Journey, wallet_token

NOTIFY_URL = "/payments/notify/sandbox"
REFUSED = {
    "zh": "此页面收到了无法识别的字符，没有做任何更改。请重新开始。",
    "en": "This screen received characters it cannot read, so nothing was changed. Please start again.",
}
# modest, so that the whole file runs in well under a minute on both databases
FUZZ = settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
WATCHED = (PaymentOrder, PaymentOrderItem, Receipt, Bill, PaymentEvent, SandboxTrade)


def written(app) -> dict[str, list[tuple]]:
    """Every row that a refused request must leave alone, read fresh from the database."""
    with app.app_context():
        return {model.__tablename__: [tuple(row) for row in db.session.execute(
                    select(model.__table__).order_by(*model.__table__.primary_key.columns))]
                for model in WATCHED}


def refusals(app) -> dict[str, int]:
    with app.app_context():
        return {row.reason: row.count for row in db.session.scalars(select(CallbackRefusal))}


def paid_notification(app, order) -> dict[str, str]:
    """What the sandbox would post once this order's trade is paid (the trade itself untouched)."""
    provider = provider_of(app)
    with app.app_context():
        trade = db.session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == order.attempt.out_trade_no))
        trade.status = "TRADE_SUCCESS"
        form = provider.notification_for(trade)
        db.session.rollback()
    return form


def resign(app, form: dict[str, str]) -> dict[str, str]:
    return {**form, "sign": sign(form, app.config["SANDBOX_SIGNING_KEY"])}


def at_the_qr_screen(app, client) -> tuple[Journey, PaymentOrder]:
    journey = Journey(client)
    with app.app_context():
        order = journey.pay(ZHAO_MIN)
    assert order is not None and order.status == "pending"
    return journey, order


# -- what probing found -----------------------------------------------------------------------

PROBES = {
    "wallet token": lambda journey, bills, key: journey.get("/sandbox/wallet/%00"),
    "wallet answer": lambda journey, bills, key: journey.post("/sandbox/wallet/%00/pay"),
    "pay key": lambda journey, bills, key: journey.post("/pay", {"bills": bills, "key": key + "\x00"}),
    "ticked bill": lambda journey, bills, key: journey.post("/dues/total", {"bills": [f"{bills[0]}\x00"]}),
    "ID number": lambda journey, bills, key: journey.post("/identify", {"id_number": ZHAO_MIN + "\x00"}),
    "control character": lambda journey, bills, key: journey.post("/identify", {"id_number": "\x1b" + ZHAO_MIN}),
    "address that is not UTF-8": lambda journey, bills, key: journey.get("/sandbox/wallet/%ED%A0%80"),
    "query string": lambda journey, bills, key: journey.get("/dues?x=%00"),
}


@pytest.mark.parametrize("probe", PROBES)
def test_unreadable_input_anywhere_gets_a_page_in_the_persons_language_and_changes_nothing(demo, client, probe):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    _, bills, key = journey.dues()
    before = written(demo)

    response = PROBES[probe](journey, bills, key)

    assert response.status_code == 400
    assert REFUSED["zh"] in response.text
    assert written(demo) == before
    # the citizen's visit goes on: the dues are still there, with nothing held for payment
    assert journey.dues()[1] == bills


def test_the_refusal_speaks_english_to_a_person_who_chose_english(demo, client):
    journey = Journey(client)
    journey.start()
    journey.post("/preferences/language", {"next": "/"})
    response = journey.post("/identify", {"id_number": ZHAO_MIN + "\x00"})
    assert response.status_code == 400
    assert REFUSED["en"] in response.text


def test_an_htmx_request_with_unreadable_input_shows_the_refusal_as_the_whole_page(demo, client):
    journey = Journey(client)
    journey.start()
    response = journey.post("/identify", {"id_number": "\x00"}, htmx=True)
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "body"
    assert REFUSED["zh"] in response.text


def test_a_preference_with_an_unreadable_return_address_is_not_changed(demo, client):
    journey = Journey(client)
    journey.get("/")
    assert journey.post("/preferences/language", {"next": "/\x00"}).status_code == 400
    assert '<html lang="zh-CN">' in journey.get("/").text


@pytest.mark.parametrize("odd", ["é", "\u200b", "\ufeff"])
@pytest.mark.parametrize("placed", ["alone", "after a good signature"])
def test_a_callback_whose_sign_is_not_ascii_is_refused_as_badly_signed(demo, client, odd, placed):
    _, order = at_the_qr_screen(demo, client)
    form = paid_notification(demo, order)
    form["sign"] = odd if placed == "alone" else form["sign"] + odd
    before = written(demo)

    response = client.post(NOTIFY_URL, data=form)

    assert (response.status_code, response.text) == (400, "failure")
    assert refusals(demo) == {"bad_signature": 1}
    assert written(demo) == before


def test_a_signed_callback_with_a_nul_byte_is_refused_as_malformed(demo, client):
    _, order = at_the_qr_screen(demo, client)
    form = resign(demo, {**paid_notification(demo, order), "notify_id": "n\x00"})
    before = written(demo)

    response = client.post(NOTIFY_URL, data=form)

    assert (response.status_code, response.text) == (400, "failure")
    assert refusals(demo) == {"malformed": 1}
    assert written(demo) == before


@pytest.mark.parametrize("field", ["trade_no", "out_trade_no"])
def test_a_signed_callback_with_a_trade_number_longer_than_any_provider_uses_is_refused_as_malformed(demo, client, field):
    _, order = at_the_qr_screen(demo, client)
    form = resign(demo, {**paid_notification(demo, order), field: "T" * 65})
    before = written(demo)

    response = client.post(NOTIFY_URL, data=form)

    assert (response.status_code, response.text) == (400, "failure")
    assert refusals(demo) == {"malformed": 1}
    assert written(demo) == before


# -- generated input ---------------------------------------------------------------------------

ODD = ("\x00", "\x01", "\x08", "\x1b", "\x7f", "\x85", "\x9f", "\ud800", "\udfff", "\ufffd", "\ufffe", "\u200b", "\u202e",
       "\ufeff", "é", "张", "Ｘ", "١", "\U0001f600", "%", "%00", "%zz", "%e4%b8", "&", "=", "+", ";", "'", '"', "<b>",
       "../", "\\", " ", "\t", "\n", "\r\n")
NEAR = (ZHAO_MIN, "1", "0", "-1", "99999999999999999999", "/", "/dues", "pay", "decline", "sandbox", "TRADE_SUCCESS", "1.00")
ENCODINGS = ("utf-8", "utf-16-le", "gb18030", "latin-1")

texts = st.one_of(
    st.text(max_size=24),
    st.lists(st.sampled_from(ODD), min_size=1, max_size=6).map("".join),
    # a sensible value spoilt by one odd character
    st.builds(lambda near, odd, at: near[:at] + odd + near[at:], st.sampled_from(NEAR), st.sampled_from(ODD), st.integers(0, 20)),
    # very long
    st.builds(lambda piece, times: piece * times, st.sampled_from(ODD + NEAR), st.integers(1_000, 10_000)),
)


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")


# what arrives on the wire: text in some encoding, or bytes that are no text at all
wire = st.one_of(st.builds(_encode, texts, st.sampled_from(ENCODINGS)), st.binary(max_size=24))


def _escaped(value: bytes, escape: bool) -> bytes:
    """Percent-encoded as a browser would, or sent raw (``%`` sequences, ``&`` and ``=`` included)."""
    return quote_from_bytes(value, safe="").encode() if escape else value


def post_fields(journey: Journey, url: str, fields: list[tuple[bytes, bytes]], escape: bool = True, htmx: bool = False):
    body = b"&".join(_escaped(name, escape) + b"=" + _escaped(value, escape) for name, value in fields)
    headers = {"X-CSRFToken": journey.token}
    if htmx:
        headers["HX-Request"] = "true"
    return journey.client.post(url, data=body, content_type="application/x-www-form-urlencoded", headers=headers)


def segment(value: bytes, escape: bool) -> str:
    """One URL path segment; unescaped, a ``%`` in it starts an escape of its own (or a broken one)."""
    return quote_from_bytes(value, safe="" if escape else "%")


def test_any_id_number_is_answered_without_a_server_error_and_writes_nothing(demo, client):
    journey = Journey(client)
    journey.start()
    journey.get("/identify")

    @FUZZ
    @given(value=wire, escape=st.booleans(), htmx=st.booleans())
    def typed(value, escape, htmx):
        before = written(demo)
        response = post_fields(journey, "/identify", [(b"id_number", value)], escape, htmx)
        assert response.status_code < 500
        assert written(demo) == before

    typed()


def test_any_ticked_bills_and_checkout_key_are_answered_without_a_server_error(demo, client):
    """Only the real key with real bills may make an order (then it is cancelled for the next example)."""
    journey = Journey(client)
    journey.identify(ZHAO_MIN)

    @FUZZ
    @given(data=st.data(), url=st.sampled_from(["/dues/total", "/pay"]), escape=st.booleans(), htmx=st.booleans())
    def ticked(data, url, escape, htmx):
        _, bills, key = journey.dues()  # showing the dues may make today's bills: not this request's doing
        real_bills = [st.sampled_from([str(bill).encode() for bill in bills])] if bills else []
        real_key = [st.just(key.encode())] if key else []
        chosen = data.draw(st.lists(st.one_of(wire, *real_bills), max_size=4), label="bills")
        sent_key = data.draw(st.one_of(wire, *real_key), label="key")
        before = written(demo)
        response = post_fields(journey, url, [(b"bills", bill) for bill in chosen] + [(b"key", sent_key)], escape, htmx)
        assert response.status_code < 500
        if "/payment" in (response.headers.get("HX-Redirect"), response.headers.get("Location")):
            journey.post("/payment/cancel")  # an order was made as asked: free the bills again
        else:
            assert written(demo) == before

    ticked()


def test_any_return_address_of_a_preference_is_answered_without_a_server_error(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)

    @FUZZ
    @given(value=wire, url=st.sampled_from(["/preferences/language", "/preferences/text-size"]), escape=st.booleans())
    def toggled(value, url, escape):
        before = written(demo)
        response = post_fields(journey, url, [(b"next", value)], escape)
        assert response.status_code < 500
        assert not response.headers.get("Location", "").startswith("//")
        assert written(demo) == before

    toggled()


def test_any_wallet_token_and_choice_are_answered_without_a_server_error(demo, client):
    journey, order = at_the_qr_screen(demo, client)
    real = wallet_token(order).encode()
    # the real token spoilt by something in front of or inside it: never the real token itself
    spoilt = st.builds(lambda at, junk: real[:at] + junk + real[at:], st.integers(0, len(real) - 1), wire.filter(bool))
    choices = st.one_of(st.sampled_from([b"pay", b"decline"]), wire)

    @FUZZ
    @given(token=st.one_of(wire, spoilt), choice=st.one_of(st.none(), choices), escape=st.booleans())
    def opened(token, choice, escape):
        assume(token != real)
        url = "/sandbox/wallet/" + segment(token, escape)
        before = written(demo)
        response = journey.get(url) if choice is None else journey.post(url + "/" + segment(choice, escape))
        assert response.status_code < 500
        assert written(demo) == before

    opened()


def test_any_forged_callback_is_refused_without_a_server_error_and_writes_nothing(demo, client):
    _, order = at_the_qr_screen(demo, client)
    real = paid_notification(demo, order)

    @FUZZ
    @given(data=st.data(), escape=st.booleans())
    def forged(data, escape):
        fields = [(name.encode(), data.draw(st.one_of(st.just(value.encode()), wire), label=name))
                  for name, value in real.items() if name != "sign"]
        fields += data.draw(st.lists(st.tuples(wire, wire), max_size=2), label="extra fields")
        fields.append((b"sign", data.draw(wire, label="sign")))
        before = written(demo)
        response = post_fields(Journey(client), NOTIFY_URL, fields, escape)
        assert response.status_code < 500
        assert response.status_code in (400, 413)  # refused, or too big to read
        assert written(demo) == before

    forged()


def test_any_correctly_signed_callback_is_answered_without_a_server_error(demo, client):
    """What a provider signs may still be nonsense: it is refused (and changes nothing) or acknowledged."""
    _, order = at_the_qr_screen(demo, client)
    real = paid_notification(demo, order)
    # signed text travels as UTF-8; the signature is over what the server will read
    signed_text = texts.filter(lambda text: not any("\ud800" <= c <= "\udfff" for c in text))

    names = sorted(name for name in real if name != "sign")

    @FUZZ
    @given(data=st.data())
    def signed(data):
        # one or two fields spoilt, the rest as the provider sent them: so the callback reads on past them
        spoilt = data.draw(st.sets(st.sampled_from(names), min_size=1, max_size=2), label="spoilt")
        form = resign(demo, {**real, **{name: data.draw(signed_text, label=name) for name in sorted(spoilt)}})
        before = written(demo)
        response = post_fields(Journey(client), NOTIFY_URL, [(k.encode(), v.encode()) for k, v in form.items()])
        assert response.status_code < 500
        if response.status_code != 200:
            after = written(demo)
            new_events = [row for row in after["payment_event"] if row not in before["payment_event"]]
            # a signed amount that differs from the order's is recorded for the operator, nothing else
            assert all(event[2] == "amount_mismatch" for event in new_events)
            assert {**after, "payment_event": before["payment_event"]} == before

    signed()


def test_any_url_parameter_or_query_is_answered_without_a_server_error(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    journey.dues()  # and no order yet: the QR screen's poller would rightly note when it asked the provider
    pages = ["/", "/identify", "/person", "/dues", "/payment", "/payment/status", "/receipt"]

    @FUZZ
    @given(page=st.sampled_from(pages), name=wire, value=wire, provider=wire, escape=st.booleans())
    def asked(page, name, value, provider, escape):
        before = written(demo)
        query = _escaped(name, escape) + b"=" + _escaped(value, escape)
        assert journey.get(page + "?" + query.decode("latin-1")).status_code < 500
        assert journey.post("/payments/notify/" + segment(provider, escape), {"sign": "x"}).status_code < 500
        assert written(demo) == before

    asked()


def test_any_csrf_token_on_any_button_is_answered_without_a_server_error(demo, client):
    journey, _ = at_the_qr_screen(demo, client)
    buttons = ["/start", "/person/not-me", "/pay", "/payment/cancel", "/payment/retry", "/receipt/print", "/done",
               "/session/continue", "/session/end"]

    @FUZZ
    @given(url=st.sampled_from(buttons), token=wire, escape=st.booleans())
    def tapped(url, token, escape):
        before = written(demo)
        body = b"csrf_token=" + _escaped(token, escape)
        response = client.post(url, data=body, content_type="application/x-www-form-urlencoded")
        assert response.status_code in (400, 413)
        assert written(demo) == before

    tapped()
