"""Dues, pay, the QR page and its poller, cancel, expiry, failure, receipt."""
import datetime as dt
import re

from sqlalchemy import func, select

from kiosk.domain.clock import utcnow
from kiosk.extensions import db
from kiosk.models import Bill, PaymentAttempt, PaymentOrder, Receipt, SandboxTrade
from kiosk.payments import provider as provider_of
from tests.checkout_helpers import notify
from tests.helpers import (CHEN_JIANGUO, LI_XIAOHONG, LIU_FANG, SUN_LI, WANG_DASHAN, ZHANG_SAN, ZHAO_MIN, Journey, amount_text,
                           latest_order, wallet_token)


def test_dues_list_every_payable_item_with_the_total_computed_by_the_server(demo, client):
    journey = Journey(client)
    journey.identify(CHEN_JIANGUO)
    page, bills, key = journey.dues()
    assert len(bills) == 6  # two medical months + four pension months
    assert page.text.count("badge") >= 4  # overdue months are marked
    total = amount_text(page.text, "total-amount")
    with demo.app_context():
        from kiosk.domain.clock import local_today
        from kiosk.services.dues import bill_late_fee

        owed = sum(bill.principal_fen - bill.subsidy_fen + bill_late_fee(bill, local_today(utcnow()))
                   for bill in db.session.scalars(select(Bill).where(Bill.id.in_(bills))))
    assert total == f"¥{owed / 100:,.2f}"


def test_the_total_follows_the_ticked_items_as_a_fragment(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    page, bills, key = journey.dues()
    fragment = journey.post("/dues/total", {"bills": bills[-1:], "key": key}, htmx=True)
    assert fragment.status_code == 200 and fragment.text.startswith('<p id="total"')
    assert amount_text(fragment.text, "total-amount") == "¥450.00"  # this month: no late fee
    assert "HX-Request" in fragment.headers["Vary"]
    assert re.search(r'<button[^>]*id="pay-button"(?![^>]*disabled)[^>]*hx-swap-oob="true"', fragment.text)
    none = journey.post("/dues/total", {"key": key}, htmx=True)
    assert amount_text(none.text, "total-amount") == "¥0.00"
    # nothing ticked: Pay now is turned off with the total (audit finding 9: it stayed on at ¥0.00)
    assert re.search(r'<button[^>]*id="pay-button"[^>]*disabled[^>]*hx-swap-oob="true"', none.text)


def test_subsidised_employer_paid_and_already_paid_people_have_nothing_to_pay(demo):
    for number, extra in ((WANG_DASHAN, "nothing-due"), (LIU_FANG, "nothing-due"), (SUN_LI, "nothing-due")):
        journey = Journey(demo.test_client())
        journey.identify(number)
        page, bills, _ = journey.dues()
        assert bills == [] and f'id="{extra}"' in page.text and 'id="pay-button"' not in page.text
        # its own heading, not the list's "what you can pay now" (audit finding 8)
        assert re.search(r"<h1>\s*没有需要缴纳的费用\s*</h1>", page.text), page.text


def test_a_subsidy_is_shown_and_only_the_rest_is_charged(demo, client):
    journey = Journey(client)
    journey.identify(LI_XIAOHONG)
    page, bills, _ = journey.dues()
    assert amount_text(page.text, "total-amount") == "¥120.00"  # 400 less a 70 % subsidy


def test_pay_with_nothing_ticked_says_so_and_makes_no_order(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    _, _, key = journey.dues()
    journey.post("/preferences/language", {"next": "/dues"})
    _, _, key = journey.dues()
    page = journey.post("/pay", {"key": key})
    assert page.status_code == 422 and "choose at least one item" in page.text
    with demo.app_context():
        assert db.session.scalar(select(func.count(PaymentOrder.id))) == 1  # the demo's own paid order only


def test_the_browser_cannot_set_an_amount_or_pay_someone_elses_bill(demo):
    other = Journey(demo.test_client())
    other.identify(ZHANG_SAN)
    _, other_bills, _ = other.dues()
    journey = Journey(demo.test_client())
    journey.identify(ZHAO_MIN)
    _, bills, key = journey.dues()
    refused = journey.post("/pay", {"bills": other_bills, "key": key, "total_fen": "1", "amount": "0.01"})
    assert refused.status_code == 422
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', refused.text).group(1)  # the re-shown list has a new key
    journey.post("/pay", {"bills": bills[:1], "key": key, "total_fen": "1"})
    with demo.app_context():
        order = latest_order()
        assert order.total_fen > 100 and len(order.items) == 1 and order.items[0].bill_id == bills[0]


def test_a_double_tap_gives_the_same_order(demo, client):
    journey = Journey(client)
    journey.identify(ZHAO_MIN)
    _, bills, key = journey.dues()
    first = journey.post("/pay", {"bills": bills, "key": key})
    second = journey.post("/pay", {"bills": bills, "key": key})
    assert first.headers["Location"] == second.headers["Location"] == "/payment"
    with demo.app_context():
        assert db.session.scalar(select(func.count(PaymentAttempt.id)).where(PaymentAttempt.provider == "sandbox")) == 1


def test_the_qr_page_shows_amount_and_code_and_polls_until_paid(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    page = journey.get("/payment")
    assert page.status_code == 200 and "<svg" in page.text
    assert amount_text(page.text, "order-amount") == f"¥{order.total_fen / 100:,.2f}"
    assert 'hx-trigger="every 1s"' in page.text and 'data-idle="off"' in page.text
    poll = journey.get("/payment/status", headers={"HX-Request": "true"})
    assert (poll.status_code, poll.text) == (204, "")  # nothing changed: htmx swaps nothing and polls on
    assert notify(demo, order).text == "success"
    done = journey.get("/payment/status", headers={"HX-Request": "true"})
    assert done.headers["HX-Redirect"] == "/payment"
    assert "hx-trigger" not in done.text  # swapping this in stops the polling
    assert journey.get("/payment").headers["Location"].endswith("/receipt")


def test_cancel_closes_the_trade_and_frees_the_bills(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    response = journey.post("/payment/cancel")
    assert response.headers["Location"] == "/dues?cancelled=1"
    with demo.app_context():
        order = db.session.get(PaymentOrder, order.id)
        trade = db.session.scalar(select(SandboxTrade).where(SandboxTrade.out_trade_no == order.attempt.out_trade_no))
        assert order.status == "cancelled" and trade.status == "TRADE_CLOSED"
        assert not any(item.live for item in order.items)
    # back on the list, the citizen is told that nothing was charged (audit finding 9)
    assert 'id="cancelled-notice"' in journey.get(response.headers["Location"]).text
    _, bills, _ = journey.dues()
    assert len(bills) == 3  # payable again


def test_cancel_of_an_order_paid_a_moment_ago_shows_the_receipt(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    wallet = Journey(demo.test_client())
    wallet.get(f"/sandbox/wallet/{wallet_token(order)}")
    wallet.post(f"/sandbox/wallet/{wallet_token(order)}/pay")
    response = journey.post("/payment/cancel")
    assert response.headers["Location"] == "/receipt"


def test_a_payment_the_cancel_refunded_is_explained_and_the_bills_can_be_paid_again(demo, client, monkeypatch):
    """The phone pays at the very moment Cancel is tapped, and its notification arrives while
    the kiosk is closing the order; the provider's cancel then gives the money back. The
    notification is put off (nothing recorded), the citizen is told, and there is no receipt."""
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
        token, order_id = wallet_token(order), order.id
    provider = provider_of(demo)
    real_query = provider.query

    def phone_pays_just_after_we_ask(out_trade_no):
        status = real_query(out_trade_no)
        if provider.query is not real_query:
            monkeypatch.setattr(provider, "query", real_query)
            wallet = Journey(demo.test_client())
            wallet.get(f"/sandbox/wallet/{token}")
            wallet.post(f"/sandbox/wallet/{token}/pay")
            with demo.app_context():
                deferred.append(notify(demo, db.session.get(PaymentOrder, order_id)))
        return status

    deferred = []

    monkeypatch.setattr(provider, "query", phone_pays_just_after_we_ask)
    response = journey.post("/payment/cancel")
    assert response.headers["Location"] == "/payment"
    page = journey.get("/payment")
    assert 'id="refunded"' in page.text and 'id="pay-again"' in page.text and "<svg" not in page.text
    assert journey.get("/receipt").headers["Location"] == "/payment"  # no receipt for money given back
    assert (deferred[0].status_code, deferred[0].text) == (503, "failure")  # the provider will send it again
    with demo.app_context():
        assert db.session.get(PaymentOrder, order_id).status == "refunded"
        assert db.session.scalar(select(Receipt).where(Receipt.order_id == order_id)) is None
    assert journey.post("/payment/retry").headers["Location"] == "/payment"
    with demo.app_context():
        again = latest_order()  # a new round of QR codes of the same order, at the same price
        assert again.id == order_id and again.round_no == 2 and again.status == "pending" and again.total_fen == order.total_fen
        assert [a.status for a in again.attempts] == ["refunded", "pending"]


def test_an_expired_qr_offers_a_new_one(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order_id = journey.pay(ZHAO_MIN).id
        db.session.get(PaymentOrder, order_id).expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    journey.post("/preferences/language", {"next": "/payment"})
    page = journey.get("/payment")
    assert 'id="expired"' in page.text and 'id="new-qr"' in page.text and "<svg" not in page.text
    response = journey.post("/payment/retry")
    assert response.headers["Location"] == "/payment"
    with demo.app_context():
        again = latest_order()  # a new QR after expiry is a new attempt of the same order
        assert again.id == order_id and again.status == "pending" and again.attempt.qr_svg
        expired, fresh = again.attempts
        assert (expired.status, fresh.status, fresh.round_no) == ("expired", "pending", 2)
        assert fresh.out_trade_no != expired.out_trade_no  # a new trade at the provider


def test_a_declined_payment_shows_the_failure_screen(demo, client):
    journey = Journey(client)
    demo.config["PROVIDER_QUERY_INTERVAL_SECONDS"] = 0
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    wallet = Journey(demo.test_client())
    wallet.get(f"/sandbox/wallet/{wallet_token(order)}")
    page = wallet.post(f"/sandbox/wallet/{wallet_token(order)}/decline")
    assert 'id="wallet-result"' in page.text
    page = journey.get("/payment")
    assert 'id="failed"' in page.text and 'id="try-again"' in page.text


def test_the_receipt_carries_what_a_receipt_must_and_prints_once(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
    notify(demo, order)
    page = journey.get("/receipt")
    with demo.app_context():
        receipt = db.session.scalar(select(Receipt).where(Receipt.order_id == order.id))
        paid = db.session.get(PaymentOrder, order.id)
        assert f'id="receipt-number">{receipt.number}<' in page.text
        assert paid.attempt.provider_trade_no in page.text
    for expected in ("赵*", "1101**********0427", "DEMO-01", "演示区医疗保障局", f"¥{order.total_fen / 100:,.2f}"):
        assert expected in page.text
    assert "赵敏" not in page.text and ZHAO_MIN not in page.text
    assert len(re.findall(r"\d{4}-\d{2}-01 – \d{4}-\d{2}-\d{2}", page.text)) == 3  # each period start-end
    assert 'data-auto-print="1"' in page.text
    assert 'data-auto-print' not in journey.get("/receipt").text  # a reload does not print twice
    assert 'data-auto-print="1"' in journey.post("/receipt/print").text  # unless asked


def test_the_receipt_is_not_shown_before_payment(demo, client):
    journey = Journey(client)
    with demo.app_context():
        journey.pay(ZHAO_MIN)
    assert journey.get("/receipt").headers["Location"] == "/payment"


def test_cancel_while_another_closer_is_at_work_shows_the_outcome_not_the_list(demo, client):
    """The QR's deadline passed as Cancel was tapped: the expiry is closing the order. The citizen
    is not sent silently back to the list; the QR screen says what is happening, then the end."""
    from tests.services.test_closing_races import _a_closer_claims_and_dies

    journey = Journey(client)
    with demo.app_context():
        order_id = journey.pay(ZHAO_MIN).id
    _a_closer_claims_and_dies(demo, order_id)
    response = journey.post("/payment/cancel")
    assert response.headers["Location"] == "/payment"
    page = journey.get("/payment")
    assert page.status_code == 200 and 'id="closing"' in page.text and 'id="poller"' in page.text
    assert 'id="cancel-payment"' not in page.text  # nothing to tap while the provider is asked


def test_a_cancel_that_refunds_a_payment_nobody_has_recorded_yet_tells_the_citizen(demo, client, monkeypatch):
    """The phone says "Paid"; the kiosk's Cancel lands a moment later and the provider refunds
    it. The kiosk went silently back to the list in 5-11 % of such races; it must say the money
    went back."""
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
        token = wallet_token(order)
    provider = provider_of(demo)
    real_query = provider.query

    def phone_pays_just_after_we_ask(out_trade_no):
        status = real_query(out_trade_no)
        monkeypatch.setattr(provider, "query", real_query)
        wallet = Journey(demo.test_client())
        wallet.get(f"/sandbox/wallet/{token}")
        assert "id=\"wallet-result\"" in wallet.post(f"/sandbox/wallet/{token}/pay").text  # the phone says paid
        return status

    monkeypatch.setattr(provider, "query", phone_pays_just_after_we_ask)
    response = journey.post("/payment/cancel")
    assert response.headers["Location"] == "/payment"  # not the list
    page = journey.get("/payment")
    assert 'id="refunded"' in page.text and 'id="pay-again"' in page.text


def test_a_kiosk_whose_unscanned_qr_was_taken_over_says_the_payment_moved(demo, client):
    """Another terminal took the items of a QR nobody scanned: this kiosk says so, once, instead of
    going back to the list without a word."""
    from tests.services.test_hostage_bills import GRACE, Kiosk

    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
        bills, created = [item.bill_id for item in order.items], order.created_at
    Kiosk(demo, "BANK-1").identify(ZHAO_MIN).order(bills, created + GRACE + dt.timedelta(seconds=1))
    page = journey.get("/payment")
    assert page.status_code == 200 and 'id="moved"' in page.text
    assert "<svg" not in page.text and 'id="poller"' not in page.text  # the QR is gone, nothing polls
    assert 'href="/dues"' in page.text
