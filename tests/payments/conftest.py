import pytest

from kiosk.payments.alipay import AlipayProvider
from tests.fakes.alipay_gateway import FakeAlipayGateway, new_key, private_pem, public_pem

APP_ID = "2021000000000001"


@pytest.fixture(scope="session")
def keys():
    """RSA 2048 key pairs made for this test session: the app's, Alipay's and a stranger's."""
    return {"app": new_key(), "alipay": new_key(), "stranger": new_key()}


@pytest.fixture
def gateway(keys):
    fake = FakeAlipayGateway(app_id=APP_ID, app_public_key=public_pem(keys["app"]), alipay_private_key=keys["alipay"]).start()
    yield fake
    fake.stop()


@pytest.fixture
def alipay(gateway, keys):
    return AlipayProvider(app_id=APP_ID, app_private_key=private_pem(keys["app"]), alipay_public_key=public_pem(keys["alipay"]),
                          gateway_url=gateway.gateway_url, timeout=1.0)
