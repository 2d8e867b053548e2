"""Production never runs on development defaults: each refusal names the variable to fix."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SettingsError
from kiosk import create_app
from kiosk.extensions import db
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = "https://kiosk.example.org"


def training_env(tmp_path) -> dict[str, str]:
    """Everything production needs to start in training mode, on the sandbox (real providers:
    tests/test_provider_settings.py)."""
    return {
        "KIOSK_SECRET_KEY": secrets.token_urlsafe(48),
        "KIOSK_ID_DIGEST_KEY": secrets.token_urlsafe(48),
        "KIOSK_SANDBOX_SIGNING_KEY": secrets.token_urlsafe(48),
        "KIOSK_VERIFY_KEY": secrets.token_urlsafe(48),
        "KIOSK_DATABASE_URL": f"sqlite:///{tmp_path / 'kiosk.sqlite'}",
        "KIOSK_PUBLIC_BASE_URL": PUBLIC,
        "KIOSK_TRAINING_MODE": "on",
        "KIOSK_SANDBOX_NOTIFY": "off",
        "KIOSK_TERMINAL_REGION": "110105",
        # a training kiosk: an instance asked to serve one kiosk, so no enrolment is needed to try it
        "KIOSK_TERMINAL_CODE": "TRAIN-01",
    }


@pytest.fixture
def environ(monkeypatch, tmp_path):
    """The process environment with no KIOSK_* or FLASK_DEBUG of the developer's, then full
    training settings; a test changes or removes one and builds the app."""
    for name in list(os.environ):
        if name.startswith("KIOSK_") or name == "FLASK_DEBUG":
            monkeypatch.delenv(name)
    for name, value in training_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def refusal(**overrides) -> str:
    with pytest.raises(SettingsError) as refused:
        built = create_app(overrides or None)
        dispose(built)
    return str(refused.value)


def dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


def test_without_kiosk_env_the_app_is_production_and_takes_no_development_default(environ):
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            environ.delenv(name)
    message = refusal()
    assert message.startswith("production refuses to start")
    for variable in ("KIOSK_SECRET_KEY", "KIOSK_ID_DIGEST_KEY", "KIOSK_DATABASE_URL", "KIOSK_PUBLIC_BASE_URL",
                     "KIOSK_PAYMENT_PROVIDER", "KIOSK_TRAINING_MODE"):
        assert variable in message


def test_full_training_settings_start_production(environ):
    app = create_app()
    assert app.config["ENV_NAME"] == "production"
    assert app.config["TRAINING_MODE"] is True
    assert app.config["PAYMENT_PROVIDERS"] == ("sandbox",)
    assert app.config["PUBLIC_BASE_URL"] == PUBLIC
    assert app.config["TRUSTED_HOSTS"] == ["kiosk.example.org"]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    dispose(app)


@pytest.mark.parametrize("variable", ["KIOSK_SECRET_KEY", "KIOSK_ID_DIGEST_KEY", "KIOSK_SANDBOX_SIGNING_KEY", "KIOSK_VERIFY_KEY",
                                      "KIOSK_DATABASE_URL", "KIOSK_PUBLIC_BASE_URL"])
def test_a_missing_setting_stops_start_up_and_is_named(environ, variable):
    environ.delenv(variable)
    message = refusal()
    assert message.count("\n- ") == 1
    assert f"{variable} is not set" in message


@pytest.mark.parametrize(("variable", "value"), [
    ("KIOSK_SECRET_KEY", "dev-only-secret-key"),
    ("KIOSK_ID_DIGEST_KEY", "dev-only-id-digest-key"),
    ("KIOSK_SANDBOX_SIGNING_KEY", "dev-only-sandbox-key"),
    ("KIOSK_SECRET_KEY", "dev-only-secret-key-but-longer-than-32-characters"),
    ("KIOSK_SECRET_KEY", "s"),
    ("KIOSK_ID_DIGEST_KEY", "d"),
    ("KIOSK_SANDBOX_SIGNING_KEY", "k"),
    ("KIOSK_SECRET_KEY", "x" * 31 + "y"),  # long enough, two characters
    ("KIOSK_ID_DIGEST_KEY", "0123456789abcdef" * 4),  # sixteen characters, a pattern over and over
    ("KIOSK_SANDBOX_SIGNING_KEY", "q7Zp2LxVr9TbN4wKc8HfYd"),  # random-looking, but 22 characters (fixed: every test process collects the same cases)
])
def test_guessable_keys_are_refused_by_name(environ, variable, value):
    environ.setenv(variable, value)
    message = refusal()
    assert message.count("\n- ") == 1
    assert f"- {variable} is " in message
    assert "secrets.token_urlsafe(48)" in message  # how to make a good one


def test_one_key_may_not_serve_as_another(environ):
    environ.setenv("KIOSK_ID_DIGEST_KEY", os.environ["KIOSK_SECRET_KEY"])
    assert "KIOSK_ID_DIGEST_KEY is the same as KIOSK_SECRET_KEY" in refusal()


@pytest.mark.parametrize("provider", [None, "sandbox"])
@pytest.mark.parametrize("training", [None, "off"])
def test_the_sandbox_is_refused_outside_training_mode(environ, provider, training):
    for variable, value in (("KIOSK_PAYMENT_PROVIDER", provider), ("KIOSK_TRAINING_MODE", training)):
        if value is None:
            environ.delenv(variable, raising=False)
        else:
            environ.setenv(variable, value)
    environ.setenv("KIOSK_SMS_GATEWAY", "off")  # outside training the SMS gateway must be named too (tested below)
    message = refusal()
    assert message.count("\n- ") == 1
    assert "KIOSK_PAYMENT_PROVIDERS is sandbox" in message
    assert "set KIOSK_TRAINING_MODE=on" in message
    assert "set KIOSK_PAYMENT_PROVIDERS=alipay,wechat (or one of them) and their keys" in message  # or take real money


def test_training_mode_takes_the_sandbox_only(environ):
    environ.setenv("KIOSK_PAYMENT_PROVIDER", "alipay")
    assert "KIOSK_TRAINING_MODE is on but KIOSK_PAYMENT_PROVIDERS has 'alipay'" in refusal()


def test_a_provider_this_version_does_not_know_is_refused(environ):
    environ.setenv("KIOSK_TRAINING_MODE", "off")
    environ.setenv("KIOSK_PAYMENT_PROVIDER", "paypal")
    assert "KIOSK_PAYMENT_PROVIDERS has 'paypal', which this version does not know" in refusal()


def test_training_mode_must_say_on_or_off(environ):
    environ.setenv("KIOSK_TRAINING_MODE", "maybe")
    assert "KIOSK_TRAINING_MODE is 'maybe': say on or off" in refusal()


@pytest.mark.parametrize("url", [
    "http://kiosk.example.org",  # phones and the provider would talk to it in clear
    "http://localhost:5000",  # no phone reaches the server's localhost
    "kiosk.example.org",
    "https://",
    "https://kiosk.example.org/kiosk",
    "https://kiosk.example.org/?next=x",
    "https://user:pw@kiosk.example.org",
])
def test_the_public_base_url_is_an_https_origin(environ, url):
    environ.setenv("KIOSK_PUBLIC_BASE_URL", url)
    message = refusal()
    assert message.count("\n- ") == 1
    assert f"KIOSK_PUBLIC_BASE_URL is {url.rstrip('/')!r}" in message


def test_trusted_hosts_are_the_public_host_and_the_listed_ones(environ):
    environ.setenv("KIOSK_PUBLIC_BASE_URL", "https://Kiosk.Example.org:8443/")
    environ.setenv("KIOSK_TRUSTED_HOSTS", " 10.0.0.5, lb.internal ,")
    app = create_app()
    assert app.config["PUBLIC_BASE_URL"] == "https://Kiosk.Example.org:8443"
    assert app.config["TRUSTED_HOSTS"] == ["kiosk.example.org", "10.0.0.5", "lb.internal"]
    dispose(app)


def test_a_trusted_host_written_as_a_url_is_refused(environ):
    environ.setenv("KIOSK_TRUSTED_HOSTS", "https://lb.internal/")
    assert "KIOSK_TRUSTED_HOSTS has 'https://lb.internal/'" in refusal()


def test_production_refuses_the_debugger(environ):
    environ.setenv("FLASK_DEBUG", "1")
    assert "FLASK_DEBUG is on" in refusal()


def test_an_unknown_kiosk_env_is_refused(environ):
    environ.setenv("KIOSK_ENV", "prod")
    assert "KIOSK_ENV='prod' is unknown" in refusal()


def test_a_number_that_is_not_one_is_named(environ):
    environ.setenv("KIOSK_ORDER_TTL_SECONDS", "3 minutes")
    assert "KIOSK_ORDER_TTL_SECONDS is '3 minutes'" in refusal()


def test_production_serves_no_terminal_unless_asked_and_sends_a_stranger_to_enrol(environ):
    """Without KIOSK_TERMINAL_CODE only browsers enrolled with an administrator's code are kiosks."""
    environ.delenv("KIOSK_TERMINAL_CODE")
    app = create_app()
    assert app.config["TERMINAL_CODE"] is None and app.config["COUNTER_CODE"] is None
    with app.app_context():
        from kiosk.cli import upgrade_to_head

        upgrade_to_head()
    first = app.test_client().get("/", base_url=PUBLIC)
    assert first.status_code == 303 and first.headers["Location"].endswith("/enrol")
    assert first.headers["Strict-Transport-Security"].startswith("max-age=")
    dispose(app)


def test_development_is_asked_for_and_runs_on_its_public_keys(environ, simulator_keys):
    for name in list(os.environ):
        if name.startswith("KIOSK_"):
            environ.delenv(name)
    environ.setenv("KIOSK_ENV", "development")
    environ.setenv("KIOSK_SIMULATOR_KEYS_DIR", simulator_keys)  # what `make db` writes to instance/simulator
    environ.setenv("KIOSK_TERMINAL_CODE", "HALL-07")
    app = create_app()
    assert app.config["ENV_NAME"] == "development"
    assert app.config["SANDBOX_SIGNING_KEY"] == "dev-only-sandbox-key"
    assert app.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert app.config["TRUSTED_HOSTS"] is None  # any host: a phone on the LAN, a second tab
    assert app.config["TRAINING_MODE"] is False
    assert app.config["TERMINAL_CODE"] == "HALL-07"  # read when the app is built, not at import
    # Alipay's real adapter, against the simulator this app serves
    assert app.config["PAYMENT_PROVIDERS"] == ("alipay", "wechat")
    assert app.config["ALIPAY_GATEWAY"] == "http://127.0.0.1:5000/simulator/alipay/gateway.do"
    dispose(app)


def test_testing_settings_have_a_public_base_url(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'kiosk.sqlite'}"))
    assert app.config["PUBLIC_BASE_URL"] == "http://localhost"
    assert app.config["TRUSTED_HOSTS"] is None
    dispose(app)


# wsgi.py is what gunicorn imports: it is production whatever the environment forgot to say

WSGI_CHECK = """
import wsgi
from kiosk.cli import upgrade_to_head
with wsgi.app.app_context():
    upgrade_to_head()  # as a deployment runs flask init-db
client = wsgi.app.test_client()
page = client.get("/", base_url="https://kiosk.example.org")
forged = client.get("/", base_url="https://attacker.example")
print(wsgi.app.config["ENV_NAME"], page.status_code, 'id="training-banner"' in page.text, forged.status_code)
"""


def run_wsgi(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-c", WSGI_CHECK], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_wsgi_without_kiosk_env_refuses_to_start_without_the_secrets():
    result = run_wsgi({})
    assert result.returncode != 0
    assert "production refuses to start" in result.stderr
    assert "KIOSK_SECRET_KEY is not set" in result.stderr


def test_wsgi_with_training_settings_serves_production_with_the_banner(tmp_path):
    result = run_wsgi(training_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["production", "200", "True", "400"]


def test_wsgi_refuses_development(tmp_path):
    result = run_wsgi({**training_env(tmp_path), "KIOSK_ENV": "development"})
    assert result.returncode != 0
    assert "wsgi.py serves production only, but KIOSK_ENV is 'development'" in result.stderr


def test_an_idle_warning_shorter_than_twenty_seconds_is_refused(environ):
    """WCAG 2.2.1: at least 20 s to answer "are you still there?" before the screen is cleared."""
    environ.setenv("KIOSK_IDLE_WARNING_SECONDS", "15")
    message = refusal()
    assert message.count("\n- ") == 1
    assert "KIOSK_IDLE_WARNING_SECONDS is 15: a citizen gets at least 20 seconds to answer the idle warning" in message
    environ.setenv("KIOSK_IDLE_WARNING_SECONDS", "20")
    dispose(create_app())


def test_production_refuses_to_start_without_the_terminals_region(environ):
    environ.delenv("KIOSK_TERMINAL_REGION")
    assert "KIOSK_TERMINAL_REGION is not set: give the 6-digit code of the region" in refusal()
    environ.setenv("KIOSK_TERMINAL_REGION", "Beijing")
    assert "KIOSK_TERMINAL_REGION is 'Beijing': give the region's 6-digit" in refusal()
    environ.setenv("KIOSK_TERMINAL_REGION", "110106")
    app = create_app()
    assert app.config["TERMINAL_REGION"] == "110106"
    dispose(app)


def test_development_and_testing_stand_in_the_demo_region():
    from config.settings import load_settings

    assert load_settings("testing", environ={})["TERMINAL_REGION"] == "110105"
    assert load_settings("testing", environ={"KIOSK_TERMINAL_REGION": "110106"})["TERMINAL_REGION"] == "110106"


def test_production_outside_training_names_its_sms_gateway(environ):
    environ.setenv("KIOSK_TRAINING_MODE", "off")
    environ.setenv("KIOSK_PAYMENT_PROVIDER", "sandbox")
    assert "KIOSK_SMS_GATEWAY is not set: say how one-time codes" in refusal()
    environ.setenv("KIOSK_SMS_GATEWAY", "sandbox")
    assert "KIOSK_SMS_GATEWAY is sandbox, which sends nothing and shows every code on a web page" in refusal()
    environ.setenv("KIOSK_SMS_GATEWAY", "carrier-pigeon")
    assert "KIOSK_SMS_GATEWAY is 'carrier-pigeon': use one of sandbox, aliyun, off" in refusal()


def test_training_mode_takes_the_sandbox_sms_by_itself(environ):
    app = create_app()
    assert app.config["SMS_GATEWAY"] == "sandbox"
    dispose(app)


def test_alibaba_cloud_sms_needs_every_setting_and_a_readable_secret(environ, tmp_path):
    environ.setenv("KIOSK_SMS_GATEWAY", "aliyun")
    message = refusal()
    for variable in ("KIOSK_ALIYUN_SMS_ACCESS_KEY_ID", "KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE",
                     "KIOSK_ALIYUN_SMS_SIGN_NAME", "KIOSK_ALIYUN_SMS_TEMPLATE_CODE"):
        assert f"{variable} is not set" in message
    environ.setenv("KIOSK_ALIYUN_SMS_ACCESS_KEY_ID", "LTAI5tExampleId")
    environ.setenv("KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE", str(tmp_path / "missing"))
    environ.setenv("KIOSK_ALIYUN_SMS_SIGN_NAME", "社保自助")
    environ.setenv("KIOSK_ALIYUN_SMS_TEMPLATE_CODE", "SMS_123456789")
    assert "KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE names" in refusal() and "cannot be read" in refusal()
    (tmp_path / "secret").write_text("an-access-key-secret\n")
    environ.setenv("KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE", str(tmp_path / "secret"))
    app = create_app()
    assert app.config["SMS_GATEWAY"] == "aliyun"
    dispose(app)
