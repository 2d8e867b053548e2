from kiosk.domain.orders import OrderStatus
from tests.helpers import ZHAO_MIN, Journey, wallet_token


def test_a_citizen_pays_and_gets_a_receipt(demo, client):
    journey = Journey(client)
    with demo.app_context():
        order = journey.pay(ZHAO_MIN)
        assert order.status == OrderStatus.PENDING.value
        token = wallet_token(order)
    wallet = Journey(demo.test_client())
    assert wallet.get(f"/sandbox/wallet/{token}").status_code == 200
    assert wallet.post(f"/sandbox/wallet/{token}/pay").status_code == 200
    # notify is off in tests: the kiosk finds the payment by asking the provider
    demo.config["PROVIDER_QUERY_INTERVAL_SECONDS"] = 0
    page = journey.get("/payment")
    assert page.status_code == 303 and page.headers["Location"].endswith("/receipt")
    receipt = journey.get("/receipt")
    assert "R" in receipt.text and 'id="receipt-number"' in receipt.text
