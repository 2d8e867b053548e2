"""A deployment picks Alipay or WeChat Pay and gives its keys in files named by KIOSK_* variables.
Every environment refuses to start with a half-configured provider, naming each variable to fix."""
from __future__ import annotations

import datetime as dt
import os
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from config.settings import SettingsError
from kiosk import create_app
from kiosk.domain.clock import utcnow
from kiosk.extensions import db
from kiosk.payments import notify_path, payments, provider
from kiosk.payments.alipay import AlipayProvider
from kiosk.payments.wechat import WechatPayProvider
from tests.fakes.alipay_gateway import FakeAlipayGateway, new_key, private_pem, public_pem
from tests.fakes.wechat_gateway import FakeWechatGateway
from tests.fakes.wechat_gateway import private_pem as pkcs8_pem

PUBLIC = "https://kiosk.example.org"
ALIPAY_APP_ID = "2021000000000001"
MCHID, WECHAT_APPID = "1900000109", "wxd678efh567hg6787"
SERIAL = "3775B6A45ACD588826D15E583A95F5DD00000001"
PUB_KEY_ID = "PUB_KEY_ID_0119000001092026112200000001"
APIV3_KEY = "a12d3924fd499edac8a5efc2b1a3c0d4"

ALIPAY_VARIABLES = ["KIOSK_ALIPAY_APP_ID", "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", "KIOSK_ALIPAY_PUBLIC_KEY_FILE"]
WECHAT_VARIABLES = ["KIOSK_WECHAT_MCHID", "KIOSK_WECHAT_APPID", "KIOSK_WECHAT_PRIVATE_KEY_FILE", "KIOSK_WECHAT_CERT_SERIAL",
                    "KIOSK_WECHAT_APIV3_KEY_FILE", "KIOSK_WECHAT_PUBLIC_KEY_FILE", "KIOSK_WECHAT_PUBLIC_KEY_ID"]


@pytest.fixture(scope="session")
def keys():
    """RSA key pairs made for this session: the Alipay app's and Alipay's, the WeChat merchant's and WeChat Pay's."""
    return {"app": new_key(), "alipay": new_key(), "merchant": new_key(), "platform": new_key()}


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def alipay_env(tmp_path, keys) -> dict[str, str]:
    return {
        "KIOSK_PAYMENT_PROVIDER": "alipay",
        "KIOSK_ALIPAY_APP_ID": ALIPAY_APP_ID,
        "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE": write(tmp_path, "alipay_app_private.pem", private_pem(keys["app"])),
        "KIOSK_ALIPAY_PUBLIC_KEY_FILE": write(tmp_path, "alipay_public.pem", public_pem(keys["alipay"])),
    }


def wechat_env(tmp_path, keys) -> dict[str, str]:
    return {
        "KIOSK_PAYMENT_PROVIDER": "wechat",
        "KIOSK_WECHAT_MCHID": MCHID,
        "KIOSK_WECHAT_APPID": WECHAT_APPID,
        "KIOSK_WECHAT_PRIVATE_KEY_FILE": write(tmp_path, "apiclient_key.pem", pkcs8_pem(keys["merchant"])),
        "KIOSK_WECHAT_CERT_SERIAL": SERIAL,
        "KIOSK_WECHAT_APIV3_KEY_FILE": write(tmp_path, "apiv3_key", APIV3_KEY + "\n"),  # as `echo` leaves it
        "KIOSK_WECHAT_PUBLIC_KEY_FILE": write(tmp_path, "pub_key.pem", public_pem(keys["platform"])),
        "KIOSK_WECHAT_PUBLIC_KEY_ID": PUB_KEY_ID,
    }


PROVIDER_ENV = {"alipay": alipay_env, "wechat": wechat_env}


@pytest.fixture
def environ(monkeypatch, tmp_path):
    """No KIOSK_* of the developer's; production's secrets, database and address, no training
    mode and no sandbox key: a test adds a provider's settings and builds the app."""
    for name in list(os.environ):
        if name.startswith("KIOSK_") or name == "FLASK_DEBUG":
            monkeypatch.delenv(name)
    for name, value in {
        "KIOSK_SECRET_KEY": secrets.token_urlsafe(48),
        "KIOSK_ID_DIGEST_KEY": secrets.token_urlsafe(48),
        "KIOSK_VERIFY_KEY": secrets.token_urlsafe(48),
        "KIOSK_SMS_GATEWAY": "off",
        "KIOSK_DATABASE_URL": f"sqlite:///{tmp_path / 'kiosk.sqlite'}",
        "KIOSK_PUBLIC_BASE_URL": PUBLIC,
        "KIOSK_TERMINAL_REGION": "110105",
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def configure(environ, values: dict[str, str], env: str = "production") -> None:
    environ.setenv("KIOSK_ENV", env)
    for name, value in values.items():
        environ.setenv(name, value)


def built(config=None):
    app = create_app(config)
    with app.app_context():
        db.engine.dispose()
    return app


def refusal() -> str:
    with pytest.raises(SettingsError) as refused:
        built()
    return str(refused.value)


def problems(message: str) -> list[str]:
    return message.split("\n- ")[1:]


@pytest.mark.parametrize(("name", "kind"), [("alipay", AlipayProvider), ("wechat", WechatPayProvider)])
def test_production_starts_with_a_complete_real_provider_without_training_or_sandbox_key(environ, tmp_path, keys, name, kind):
    configure(environ, PROVIDER_ENV[name](tmp_path, keys))
    app = built()
    assert app.config["ENV_NAME"] == "production"
    assert app.config["TRAINING_MODE"] is False
    assert isinstance(provider(app), kind)
    assert "sandbox" not in app.blueprints  # no wallet that pays without money
    assert app.url_map.bind("kiosk.example.org").match(notify_path(name), method="POST")[0] == "callbacks.notify"


def test_the_alipay_settings_build_a_provider_that_precreates_against_the_gateway(environ, tmp_path, keys):
    fake = FakeAlipayGateway(app_id=ALIPAY_APP_ID, app_public_key=public_pem(keys["app"]), alipay_private_key=keys["alipay"]).start()
    try:
        configure(environ, {**alipay_env(tmp_path, keys), "KIOSK_ALIPAY_GATEWAY": fake.gateway_url,
                            "KIOSK_PROVIDER_TIMEOUT_SECONDS": "3"}, env="testing")
        app = built()
        alipay = provider(app)
        assert isinstance(alipay, AlipayProvider) and alipay.timeout == 3
        notify_url = app.config["PUBLIC_BASE_URL"] + notify_path("alipay")
        qr = alipay.precreate(out_trade_no="K20261122000001", amount_fen=12345, subject="社保缴费",
                              expires_at=utcnow() + dt.timedelta(minutes=3), notify_url=notify_url, public_base_url=PUBLIC)
    finally:
        fake.stop()
    assert qr.startswith("https://qr.alipay.com/")
    assert fake.trades["K20261122000001"].amount_fen == 12345
    assert fake.trades["K20261122000001"].notify_url == PUBLIC + "/payments/notify/alipay"


def test_the_wechat_settings_build_a_provider_that_precreates_against_the_gateway(environ, tmp_path, keys):
    fake = FakeWechatGateway(mchid=MCHID, appid=WECHAT_APPID, merchant_key=keys["merchant"], merchant_serial=SERIAL,
                             platform_key=keys["platform"], public_key_id=PUB_KEY_ID, apiv3_key=APIV3_KEY).start()
    try:
        configure(environ, {**wechat_env(tmp_path, keys), "KIOSK_WECHAT_GATEWAY": fake.base_url}, env="testing")
        app = built()
        wechat = provider(app)
        assert isinstance(wechat, WechatPayProvider)
        notify_url = app.config["PUBLIC_BASE_URL"] + notify_path("wechat")
        code_url = wechat.precreate(out_trade_no="K20261122000001", amount_fen=12345, subject="社保缴费",
                                    expires_at=utcnow() + dt.timedelta(minutes=3), notify_url=notify_url, public_base_url=PUBLIC)
    finally:
        fake.stop()
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr=")
    order = fake.orders["K20261122000001"]
    assert order.total == 12345
    assert order.payload["notify_url"] == PUBLIC + "/payments/notify/wechat"


@pytest.mark.parametrize("env", ["production", "development"])
@pytest.mark.parametrize(("name", "variable"), [("alipay", v) for v in ALIPAY_VARIABLES] + [("wechat", v) for v in WECHAT_VARIABLES])
def test_each_missing_setting_stops_start_up_and_is_named(environ, tmp_path, keys, env, name, variable):
    configure(environ, PROVIDER_ENV[name](tmp_path, keys), env)
    environ.delenv(variable)
    message = refusal()
    assert problems(message) == [problems(message)[0]]
    assert problems(message)[0].startswith(f"{variable} is not set: give ")


def test_a_half_configured_provider_is_refused_with_every_missing_setting_in_one_message(environ):
    configure(environ, {"KIOSK_PAYMENT_PROVIDER": "wechat", "KIOSK_WECHAT_MCHID": MCHID})
    message = refusal()
    assert message.startswith("production refuses to start")
    assert [problem.split(" ")[0] for problem in problems(message)] == WECHAT_VARIABLES[1:]


def ec_private_pem() -> str:
    from cryptography.hazmat.primitives import serialization

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def encrypted_private_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(b"password")).decode()


def pkcs1_public_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()


# (provider, variable, what to give it, words of the refusal); the value is a path under tmp_path
# for "file:" (with that text), "dir" for a directory, "nothing" for a path that does not exist
BROKEN = [
    ("alipay", "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", "nothing", "which does not exist"),
    ("alipay", "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", "dir", "which cannot be read"),
    ("alipay", "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", lambda k: public_pem(k["app"]), "which holds a public key"),
    ("alipay", "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", lambda k: "MIIEowIBAAKCAQEA-not-a-pem", "which holds no RSA private key"),
    ("alipay", "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", lambda k: encrypted_private_pem(k["app"]), "encrypted with a password"),
    ("alipay", "KIOSK_ALIPAY_PUBLIC_KEY_FILE", "nothing", "which does not exist"),
    ("alipay", "KIOSK_ALIPAY_PUBLIC_KEY_FILE", lambda k: private_pem(k["alipay"]), "which holds a private key"),
    ("alipay", "KIOSK_ALIPAY_GATEWAY", "http://openapi.alipay.com/gateway.do", "give an https URL"),
    ("alipay", "KIOSK_ALIPAY_GATEWAY", "openapi.alipay.com", "give an https URL"),
    ("wechat", "KIOSK_WECHAT_PRIVATE_KEY_FILE", "dir", "which cannot be read"),
    ("wechat", "KIOSK_WECHAT_PRIVATE_KEY_FILE", lambda k: ec_private_pem(), "a private key that is not RSA"),
    ("wechat", "KIOSK_WECHAT_PRIVATE_KEY_FILE", lambda k: public_pem(k["merchant"]), "which holds a public key"),
    ("wechat", "KIOSK_WECHAT_PRIVATE_KEY_FILE", lambda k: private_pem(k["merchant"]), "not in PKCS#8 form"),
    ("wechat", "KIOSK_WECHAT_PUBLIC_KEY_FILE", lambda k: pkcs1_public_pem(k["platform"]), "-----BEGIN PUBLIC KEY-----"),
    ("wechat", "KIOSK_WECHAT_PUBLIC_KEY_FILE", lambda k: private_pem(k["platform"]), "which holds a private key"),
    ("wechat", "KIOSK_WECHAT_PUBLIC_KEY_FILE", "nothing", "which does not exist"),
    ("wechat", "KIOSK_WECHAT_APIV3_KEY_FILE", "nothing", "which does not exist"),
    ("wechat", "KIOSK_WECHAT_APIV3_KEY_FILE", lambda k: APIV3_KEY[:-1], "holds 31 characters: the APIv3 key is exactly 32"),
    ("wechat", "KIOSK_WECHAT_APIV3_KEY_FILE", lambda k: APIV3_KEY + "Z", "holds 33 characters: the APIv3 key is exactly 32"),
    ("wechat", "KIOSK_WECHAT_GATEWAY", "http://api.mch.weixin.qq.com", "give an https URL"),
]


@pytest.mark.parametrize("env", ["production", "development"])
@pytest.mark.parametrize(("name", "variable", "value", "words"), BROKEN)
def test_each_broken_setting_stops_start_up_and_is_named(environ, tmp_path, keys, env, name, variable, value, words):
    configure(environ, PROVIDER_ENV[name](tmp_path, keys), env)
    if value == "nothing":
        value = str(tmp_path / "missing.pem")
    elif value == "dir":
        (tmp_path / "keys").mkdir()
        value = str(tmp_path / "keys")
    elif callable(value):
        value = write(tmp_path, "broken", value(keys))
    environ.setenv(variable, value)
    message = refusal()
    assert len(problems(message)) == 1, message
    assert problems(message)[0].startswith(f"{variable} ")
    assert words in message


def test_no_key_is_quoted_in_a_refusal(environ, tmp_path, keys):
    configure(environ, wechat_env(tmp_path, keys))
    environ.setenv("KIOSK_WECHAT_APIV3_KEY_FILE", write(tmp_path, "apiv3", APIV3_KEY * 2))
    environ.setenv("KIOSK_WECHAT_PUBLIC_KEY_FILE", environ_value("KIOSK_WECHAT_PRIVATE_KEY_FILE"))
    message = refusal()
    assert len(problems(message)) == 2
    private_key_line = pkcs8_pem(keys["merchant"]).splitlines()[1]
    assert APIV3_KEY not in message and private_key_line not in message


def environ_value(name: str) -> str:
    return os.environ[name]


def test_a_local_http_gateway_is_for_tests_and_the_demo_only(environ, tmp_path, keys):
    configure(environ, {**alipay_env(tmp_path, keys), "KIOSK_ALIPAY_GATEWAY": "http://127.0.0.1:8001/gateway.do"}, "development")
    assert isinstance(provider(built()), AlipayProvider)
    environ.setenv("KIOSK_ENV", "production")
    assert "KIOSK_ALIPAY_GATEWAY is 'http://127.0.0.1:8001/gateway.do': give an https URL" in refusal()


@pytest.mark.parametrize("env", ["production", "development"])
def test_training_mode_takes_the_sandbox_only_even_with_a_complete_provider(environ, tmp_path, keys, env):
    configure(environ, {**alipay_env(tmp_path, keys), "KIOSK_TRAINING_MODE": "on"}, env)
    assert problems(refusal()) == ["KIOSK_TRAINING_MODE is on but KIOSK_PAYMENT_PROVIDERS has 'alipay': training uses the "
                                   "sandbox or the simulator (KIOSK_SIMULATOR=on, KIOSK_ALIPAY_GATEWAY under "
                                   "KIOSK_SIMULATOR_URL) only, so no real money can move"]


@pytest.mark.parametrize("env", ["production", "development"])
def test_a_timeout_of_zero_is_refused(environ, tmp_path, keys, env):
    configure(environ, {**wechat_env(tmp_path, keys), "KIOSK_PROVIDER_TIMEOUT_SECONDS": "0"}, env)
    assert problems(refusal())[0].startswith("KIOSK_PROVIDER_TIMEOUT_SECONDS is 0")


@pytest.mark.parametrize("env", ["production", "development"])
def test_an_unknown_provider_is_refused_with_the_known_ones(environ, env):
    configure(environ, {"KIOSK_PAYMENT_PROVIDER": "paypal"}, env)
    assert "KIOSK_PAYMENT_PROVIDERS has 'paypal', which this version does not know (known: sandbox, alipay, wechat)" in refusal()


@pytest.mark.parametrize("env", ["production", "development"])
def test_both_providers_side_by_side_each_need_their_settings(environ, tmp_path, keys, env):
    """One QR code per app: each provider listed is checked, and a half-configured one is named."""
    settings = {**alipay_env(tmp_path, keys), **wechat_env(tmp_path, keys), "KIOSK_PAYMENT_PROVIDERS": "alipay,wechat"}
    settings.pop("KIOSK_WECHAT_MCHID")
    configure(environ, settings, env)
    assert [problem.split(" ")[0] for problem in problems(refusal())] == ["KIOSK_WECHAT_MCHID"]


@pytest.mark.parametrize(("listed", "problem"), [
    ("sandbox,alipay", "the sandbox takes no real money and is never offered next to a real provider"),
    ("alipay,alipay", "KIOSK_PAYMENT_PROVIDERS lists a provider twice: alipay,alipay"),
])
def test_a_list_of_providers_that_makes_no_sense_is_refused(environ, tmp_path, keys, listed, problem):
    configure(environ, {**alipay_env(tmp_path, keys), "KIOSK_PAYMENT_PROVIDERS": listed}, "production")
    assert problem in refusal()


# -- the gateway simulator -------------------------------------------------------------------

@pytest.mark.parametrize("name, kind", [("alipay", AlipayProvider), ("wechat", WechatPayProvider)])
def test_development_points_an_unconfigured_provider_at_the_simulator(environ, simulator_keys, name, kind):
    configure(environ, {"KIOSK_SIMULATOR_KEYS_DIR": simulator_keys}, "development")
    app = built()
    assert app.config["PAYMENT_PROVIDERS"] == ("alipay", "wechat")  # both, side by side, unless told otherwise
    assert isinstance(payments(app).get(name), kind)
    assert app.config["ALIPAY_GATEWAY"] == PUBLIC + "/simulator/alipay/gateway.do"
    assert app.config["WECHAT_GATEWAY"] == PUBLIC + "/simulator/wechat"
    assert app.config["ALIPAY_APP_PRIVATE_KEY_FILE"].startswith(simulator_keys)
    assert "simulator" in app.blueprints


def test_a_separate_simulator_process_is_named_by_its_url(environ, simulator_keys):
    configure(environ, {"KIOSK_SIMULATOR_KEYS_DIR": simulator_keys, "KIOSK_SIMULATOR_URL": "http://127.0.0.1:5100/simulator/"},
              "development")
    assert built().config["ALIPAY_GATEWAY"] == "http://127.0.0.1:5100/simulator/alipay/gateway.do"


def test_a_provider_given_any_setting_of_its_own_gets_nothing_from_the_simulator(environ, simulator_keys):
    configure(environ, {"KIOSK_SIMULATOR_KEYS_DIR": simulator_keys, "KIOSK_ALIPAY_APP_ID": ALIPAY_APP_ID}, "development")
    assert [p.split(" ")[0] for p in problems(refusal())] == ["KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", "KIOSK_ALIPAY_PUBLIC_KEY_FILE"]


def test_production_refuses_the_simulator_outside_training_mode(environ, tmp_path, keys):
    configure(environ, {**alipay_env(tmp_path, keys), "KIOSK_SIMULATOR": "on"})
    assert problems(refusal()) == ["KIOSK_SIMULATOR is on but KIOSK_TRAINING_MODE is off: the simulator's wallet pages mark "
                                   "trades paid without any money. Production serves them only in training mode: set "
                                   "KIOSK_TRAINING_MODE=on, or unset KIOSK_SIMULATOR"]


def test_production_gives_no_simulator_keys_or_address_by_default(environ, simulator_keys):
    configure(environ, {"KIOSK_SIMULATOR_KEYS_DIR": simulator_keys, "KIOSK_SIMULATOR": "on", "KIOSK_TRAINING_MODE": "on",
                        "KIOSK_PAYMENT_PROVIDER": "alipay"})
    # the keys are not filled in, and the gateway stays Alipay's own, which training refuses
    assert [p.split(" ")[0] for p in problems(refusal())] == ["KIOSK_TRAINING_MODE", *ALIPAY_VARIABLES]


def test_production_trains_on_the_simulator_when_asked_and_serves_it(environ, tmp_path, keys, simulator_keys):
    configure(environ, {**alipay_env(tmp_path, keys), "KIOSK_SIMULATOR": "on", "KIOSK_TRAINING_MODE": "on",
                        "KIOSK_ALIPAY_GATEWAY": PUBLIC + "/simulator/alipay/gateway.do",
                        "KIOSK_SIMULATOR_KEYS_DIR": str(tmp_path / "nowhere")})
    assert problems(refusal())[0].startswith(f"KIOSK_SIMULATOR_KEYS_DIR names {str(tmp_path / 'nowhere')!r}, which lacks")
    environ.setenv("KIOSK_SIMULATOR_KEYS_DIR", simulator_keys)
    app = built()
    assert app.config["TRAINING_MODE"] is True and "simulator" in app.blueprints
    assert app.test_client().get("/simulator/", base_url=PUBLIC).status_code == 404  # no fault switches in a hall


def test_production_without_the_simulator_has_no_simulator_pages(environ, tmp_path, keys):
    configure(environ, alipay_env(tmp_path, keys))
    app = built()
    assert "simulator" not in app.blueprints
    assert app.test_client().get("/simulator/alipay/gateway.do", base_url=PUBLIC).status_code == 404
