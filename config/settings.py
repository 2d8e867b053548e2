"""Settings per environment, read from the ``KIOSK_*`` environment variables when the app is
built (``load_settings``, called by ``create_app``), never at import time.

- ``production`` (the default: ``wsgi.py``, cron, a bare ``flask``) has no defaults for secrets
  or addresses and refuses to start on anything a developer would use; see ``check_production``.
- ``development`` (``KIOSK_ENV=development``, which ``make run`` sets) fills in public
  ``dev-only-*`` keys and http://127.0.0.1:5000 so one machine works with no set-up.
- ``testing`` is development with the sandbox's own notifications off.

Development and testing serve the gateway simulator (``kiosk.payments.simulator``, under
``/simulator/``): a provider none of whose ``KIOSK_ALIPAY_*`` / ``KIOSK_WECHAT_*`` variables is
set is pointed at it, with the keys ``flask simulator-keys`` writes to ``instance/simulator/``,
and development takes Alipay through it by default. Production serves it only with
``KIOSK_SIMULATOR=on`` in training mode, and never fills in a provider's settings.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("production", "development", "testing")
PROVIDERS = ("sandbox", "alipay", "wechat")  # one per app for now: several on one screen come later

ALIPAY_GATEWAY = "https://openapi.alipay.com/gateway.do"
WECHAT_GATEWAY = "https://api.mch.weixin.qq.com"
LOCAL_HOSTS = ("127.0.0.1", "localhost")  # where tests and the demo run the gateways' fakes
APIV3_KEY_BYTES = 32

# what each real provider needs: (setting, variable, kind, what it is). Keys come only from
# files, never from a variable's value, so that they show in no process listing or crash report;
# the settings hold the paths and build_provider reads the files.
PROVIDER_SETTINGS = {
    "alipay": (
        ("ALIPAY_APP_ID", "KIOSK_ALIPAY_APP_ID", "text", "the APPID of the kiosk's app on the Alipay open platform"),
        ("ALIPAY_APP_PRIVATE_KEY_FILE", "KIOSK_ALIPAY_APP_PRIVATE_KEY_FILE", "private_key",
         "the app's RSA2 private key (PEM), whose public half is uploaded to the Alipay open platform"),
        ("ALIPAY_PUBLIC_KEY_FILE", "KIOSK_ALIPAY_PUBLIC_KEY_FILE", "public_key",
         "the Alipay public key (PEM) the open platform shows for the app"),
        ("ALIPAY_GATEWAY", "KIOSK_ALIPAY_GATEWAY", "gateway", ALIPAY_GATEWAY),
    ),
    "wechat": (
        ("WECHAT_MCHID", "KIOSK_WECHAT_MCHID", "text", "the merchant number (mchid) of the WeChat Pay merchant platform"),
        ("WECHAT_APPID", "KIOSK_WECHAT_APPID", "text", "the AppID bound to the merchant number"),
        # wechatpayv3 reads only PKCS#8 private and SubjectPublicKeyInfo public keys
        ("WECHAT_PRIVATE_KEY_FILE", "KIOSK_WECHAT_PRIVATE_KEY_FILE", "pkcs8_private_key",
         "the private key of the merchant API certificate (apiclient_key.pem)"),
        ("WECHAT_CERT_SERIAL", "KIOSK_WECHAT_CERT_SERIAL", "text", "the serial number of the merchant API certificate"),
        ("WECHAT_APIV3_KEY_FILE", "KIOSK_WECHAT_APIV3_KEY_FILE", "apiv3_key",
         f"the APIv3 key ({APIV3_KEY_BYTES} characters) set on the merchant platform"),
        ("WECHAT_PUBLIC_KEY_FILE", "KIOSK_WECHAT_PUBLIC_KEY_FILE", "spki_public_key",
         "the WeChat Pay public key (PEM) downloaded from the merchant platform"),
        ("WECHAT_PUBLIC_KEY_ID", "KIOSK_WECHAT_PUBLIC_KEY_ID", "text", "the id of the WeChat Pay public key (PUB_KEY_ID_...)"),
        ("WECHAT_GATEWAY", "KIOSK_WECHAT_GATEWAY", "gateway", WECHAT_GATEWAY),
    ),
}

# how one-time codes reach a citizen's phone (kiosk/sms/): the sandbox keeps them for the developer
# page; aliyun is Alibaba Cloud SMS; off sends none (payment records then need the ID-card reader)
SMS_GATEWAYS = ("sandbox", "aliyun", "off")
ALIYUN_SMS_ENDPOINT = "dysmsapi.aliyuncs.com"
# Alibaba Cloud SMS: (setting, variable, what it is); the AccessKey secret, like every key, from a file
ALIYUN_SMS_SETTINGS = (
    ("ALIYUN_SMS_ACCESS_KEY_ID", "KIOSK_ALIYUN_SMS_ACCESS_KEY_ID", "the AccessKey ID of a RAM user allowed to send SMS"),
    ("ALIYUN_SMS_ACCESS_KEY_SECRET_FILE", "KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE", "a file holding that AccessKey's secret"),
    ("ALIYUN_SMS_SIGN_NAME", "KIOSK_ALIYUN_SMS_SIGN_NAME", "the approved SMS signature (签名)"),
    ("ALIYUN_SMS_TEMPLATE_CODE", "KIOSK_ALIYUN_SMS_TEMPLATE_CODE", "the approved template (SMS_...) with one ${code} parameter"),
)

# the public keys development runs on: production refuses every one of them
DEV_DEFAULTS = {
    "SECRET_KEY": "dev-only-secret-key",
    "ID_DIGEST_KEY": "dev-only-id-digest-key",
    "SANDBOX_SIGNING_KEY": "dev-only-sandbox-key",
    "VERIFY_KEY": "dev-only-verify-key",
}
DEV_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
DEMO_REGION = "110105"  # config/rules/demo-region.json
TESTING_PUBLIC_BASE_URL = "http://localhost"  # the Flask test client's host

# the environment variable behind each setting that production checks, for its messages
VARIABLES = {
    "SECRET_KEY": "KIOSK_SECRET_KEY",
    "ID_DIGEST_KEY": "KIOSK_ID_DIGEST_KEY",
    "SANDBOX_SIGNING_KEY": "KIOSK_SANDBOX_SIGNING_KEY",
    "VERIFY_KEY": "KIOSK_VERIFY_KEY",
    "SMS_GATEWAY": "KIOSK_SMS_GATEWAY",
    **{setting: variable for setting, variable, _ in ALIYUN_SMS_SETTINGS},
    "SQLALCHEMY_DATABASE_URI": "KIOSK_DATABASE_URL",
    "PUBLIC_BASE_URL": "KIOSK_PUBLIC_BASE_URL",
    "PAYMENT_PROVIDERS": "KIOSK_PAYMENT_PROVIDERS",
    "TRAINING_MODE": "KIOSK_TRAINING_MODE",
    "SIMULATOR": "KIOSK_SIMULATOR",
    "SIMULATOR_URL": "KIOSK_SIMULATOR_URL",
    "SANDBOX_NOTIFY": "KIOSK_SANDBOX_NOTIFY",
    "TRUSTED_HOSTS": "KIOSK_TRUSTED_HOSTS",
    "TERMINAL_REGION": "KIOSK_TERMINAL_REGION",
    "PROVIDER_TIMEOUT_SECONDS": "KIOSK_PROVIDER_TIMEOUT_SECONDS",
    **{setting: variable for entries in PROVIDER_SETTINGS.values() for setting, variable, _, _ in entries},
}

# limits on looking ID numbers up, in Flask-Limiter's notation ("10 per minute"; several
# separated by ";"): all look-ups, and not-found answers counted apart, per visit and per terminal
LOOKUP_LIMITS = {
    "LOOKUP_LIMIT_PER_VISIT": ("KIOSK_LOOKUP_LIMIT_PER_VISIT", "10 per minute"),
    "LOOKUP_LIMIT_PER_TERMINAL": ("KIOSK_LOOKUP_LIMIT_PER_TERMINAL", "60 per minute"),
    # after 3 misses a visit waits up to a minute, after 5 up to ten: typing mistakes are
    # caught by the checksum, so a valid number nobody has is rare for a citizen
    "NOT_FOUND_LIMIT_PER_VISIT": ("KIOSK_NOT_FOUND_LIMIT_PER_VISIT", "3 per minute; 5 per 10 minutes"),
    # what stops a scan, which starts a new visit for every number: 1,000 numbers take two days
    "NOT_FOUND_LIMIT_PER_TERMINAL": ("KIOSK_NOT_FOUND_LIMIT_PER_TERMINAL", "20 per hour"),
}

MIN_SECRET_LENGTH = 32
MIN_IDLE_WARNING_SECONDS = 20
MIN_SECRET_DISTINCT_CHARACTERS = 10
MAKE_A_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class SettingsError(RuntimeError):
    """The app refuses to start: the message names each ``KIOSK_*`` variable to fix."""


def load_settings(env: str, overrides: Mapping | None = None, environ: Mapping[str, str] | None = None) -> dict:
    """The settings of ``env`` from ``environ`` (default ``os.environ``), then ``overrides``
    (tests, a second process) on top; production's checks run on the result."""
    environ = os.environ if environ is None else environ
    if env not in ENVIRONMENTS:
        raise SettingsError(f"KIOSK_ENV={env!r} is unknown: use production (the default), development or testing")
    developing = env != "production"
    get = environ.get
    # the gateway simulator: on by default where developing, in production only when asked for
    simulator = _env_bool(environ, "KIOSK_SIMULATOR") if get("KIOSK_SIMULATOR", "").strip() else developing

    settings = {
        "ENV_NAME": env,
        "SECRET_KEY": get("KIOSK_SECRET_KEY") or (DEV_DEFAULTS["SECRET_KEY"] if developing else None),
        # keyed digest of ID numbers: the database never holds them in clear
        "ID_DIGEST_KEY": get("KIOSK_ID_DIGEST_KEY") or (DEV_DEFAULTS["ID_DIGEST_KEY"] if developing else None),
        # key of the tags that make receipts' and certificates' verification codes unforgeable: printed
        # codes must verify for years, so it is its own key, never rotated with the session's
        "VERIFY_KEY": get("KIOSK_VERIFY_KEY") or (DEV_DEFAULTS["VERIFY_KEY"] if developing else None),
        # one-time codes by SMS: the sandbox where developing or training, else only when asked for
        "SMS_GATEWAY": (get("KIOSK_SMS_GATEWAY") or "").strip().lower()
        or ("sandbox" if developing or _env_bool(environ, "KIOSK_TRAINING_MODE") else None),
        **{setting: (get(variable) or "").strip() or None for setting, variable, _ in ALIYUN_SMS_SETTINGS},
        "ALIYUN_SMS_ENDPOINT": (get("KIOSK_ALIYUN_SMS_ENDPOINT") or "").strip() or ALIYUN_SMS_ENDPOINT,
        "SQLALCHEMY_DATABASE_URI": get("KIOSK_DATABASE_URL")
        or (f"sqlite:///{ROOT / 'instance' / 'kiosk.sqlite'}" if developing else None),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,  # a kiosk page may stay open all day; the session bounds it
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": not developing,
        "HSTS": not developing,  # Strict-Transport-Security on every response (kiosk/web/security.py)
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ("zh", "en"),
        # an app instance that serves one kiosk and one counter: a browser not enrolled (kiosk/web/terminals.py)
        # is that kiosk, or at the counter's pages that counter. Development's are the demo's; production
        # has none unless asked for, so there only browsers enrolled with an administrator's code are terminals
        "TERMINAL_CODE": (get("KIOSK_TERMINAL_CODE") or "").strip() or ("DEMO-01" if developing else None),
        "COUNTER_CODE": (get("KIOSK_COUNTER_CODE") or "").strip() or ("COUNTER-01" if developing else None),
        # the region (6-digit code) the terminal stands in: its rules price the dues shown there.
        # Development and testing stand in the demo region; production must say
        "TERMINAL_REGION": (get("KIOSK_TERMINAL_REGION") or "").strip() or (DEMO_REGION if developing else None),
        # base of every absolute URL the provider and phones see (QR codes, notify URL): always set,
        # never taken from a request's Host header
        "PUBLIC_BASE_URL": (get("KIOSK_PUBLIC_BASE_URL") or "").rstrip("/")
        or (TESTING_PUBLIC_BASE_URL if env == "testing" else DEV_PUBLIC_BASE_URL if developing else None),
        # the apps a citizen may pay with, one QR code each, side by side in this order. Development
        # offers both through their real adapters against the simulator; elsewhere the default is the sandbox
        "PAYMENT_PROVIDERS": _providers(environ, ("alipay", "wechat") if env == "development" and simulator else ("sandbox",)),
        "SIMULATOR": simulator,
        # where the adapters reach the simulator (unset: PUBLIC_BASE_URL/simulator, the app itself);
        # a simulator running as a process of its own is named here, e.g. http://127.0.0.1:5100/simulator
        "SIMULATOR_URL": (get("KIOSK_SIMULATOR_URL") or "").strip().rstrip("/") or None,
        "SIMULATOR_KEYS_DIR": get("KIOSK_SIMULATOR_KEYS_DIR") or str(ROOT / "instance" / "simulator"),
        # the sandbox in front of citizens: every screen and receipt says no real payment happens
        "TRAINING_MODE": _env_bool(environ, "KIOSK_TRAINING_MODE"),
        "SANDBOX_SIGNING_KEY": get("KIOSK_SANDBOX_SIGNING_KEY") or (DEV_DEFAULTS["SANDBOX_SIGNING_KEY"] if developing else None),
        "SANDBOX_NOTIFY": get("KIOSK_SANDBOX_NOTIFY", "http"),  # "http" or "off"
        # the real providers' settings: key *file paths*, read when the provider is built
        **{setting: (get(variable) or "").strip() or None
           for entries in PROVIDER_SETTINGS.values() for setting, variable, kind, default in entries},
        # how long a call to a real provider's gateway may take before it counts as failed
        "PROVIDER_TIMEOUT_SECONDS": _env_int(environ, "KIOSK_PROVIDER_TIMEOUT_SECONDS", 10),
        # how long a thermal printer may take to connect, answer or take a receipt (ESC/POS terminals)
        "PRINTER_TIMEOUT_SECONDS": _env_int(environ, "KIOSK_PRINTER_TIMEOUT_SECONDS", 5),
        "ORDER_TTL_SECONDS": _env_int(environ, "KIOSK_ORDER_TTL_SECONDS", 180),
        "PROVIDER_QUERY_INTERVAL_SECONDS": _env_int(environ, "KIOSK_PROVIDER_QUERY_INTERVAL_SECONDS", 3),
        "POLL_INTERVAL_SECONDS": 1,
        "IDLE_SECONDS": _env_int(environ, "KIOSK_IDLE_SECONDS", 60),
        # WCAG 2.2.1 (timing adjustable) asks at least 20 s to answer "are you still there?"; the
        # elderly get more (production refuses less than 20)
        "IDLE_WARNING_SECONDS": _env_int(environ, "KIOSK_IDLE_WARNING_SECONDS", 30),
        # the server forgets a visit this long after the browser should have ended it
        "IDLE_GRACE_SECONDS": _env_int(environ, "KIOSK_IDLE_GRACE_SECONDS", 10),
        "EXTRA_TRUSTED_HOSTS": _host_list(get("KIOSK_TRUSTED_HOSTS", "")),
        # where the look-up limits count (README "Limits"): memory:// counts in each process, so
        # several workers or app instances need a shared store, e.g. redis://127.0.0.1:6379
        "RATELIMIT_STORAGE_URI": get("KIOSK_RATELIMIT_STORAGE_URI") or "memory://",
        **{name: get(variable) or default for name, (variable, default) in LOOKUP_LIMITS.items()},
        # bills held by another terminal's order whose QR was never scanned are taken over once that
        # terminal has held them this long (counted from its first order for the person in the window)
        "TAKE_OVER_GRACE_SECONDS": _env_int(environ, "KIOSK_TAKE_OVER_GRACE_SECONDS", 20),
        # ... and this long when one of its QR codes is of a provider that cannot say whether it was
        # scanned (WeChat Pay): a buyer may be confirming, so they get longer before the code is closed
        "TAKE_OVER_GRACE_UNSEEN_SECONDS": _env_int(environ, "KIOSK_TAKE_OVER_GRACE_UNSEEN_SECONDS", 60),
        # one terminal makes at most this many orders for one person in the window
        "ORDERS_PER_PERSON": _env_int(environ, "KIOSK_ORDERS_PER_PERSON", 5),
        "ORDER_WINDOW_SECONDS": _env_int(environ, "KIOSK_ORDER_WINDOW_SECONDS", 600),
    }
    if env == "testing":
        settings["TESTING"] = True
        settings["SANDBOX_NOTIFY"] = "off"  # tests deliver notifications themselves, retries and forgeries included
    settings.update(overrides or {})
    settings["ENV_NAME"] = env
    fill_provider_defaults(settings)
    check_limits(settings)

    if env != "production":
        problems = provider_problems(settings, production=False) + sms_problems(settings, production=False)
        if problems:
            raise SettingsError("the kiosk refuses to start:\n- " + "\n- ".join(problems))
    else:
        check_production(settings)
        if "TRUSTED_HOSTS" not in (overrides or {}):
            # Flask answers 400 to any other Host header
            settings["TRUSTED_HOSTS"] = [urlsplit(settings["PUBLIC_BASE_URL"]).hostname, *settings["EXTRA_TRUSTED_HOSTS"]]
    return settings


def _providers(environ: Mapping[str, str], default: tuple[str, ...]) -> tuple[str, ...]:
    """``KIOSK_PAYMENT_PROVIDERS`` (comma-separated), else the older single ``KIOSK_PAYMENT_PROVIDER``, else ``default``."""
    listed = environ.get("KIOSK_PAYMENT_PROVIDERS") or environ.get("KIOSK_PAYMENT_PROVIDER") or ""
    return tuple(name.strip() for name in listed.split(",") if name.strip()) or default


def fill_provider_defaults(settings: dict) -> None:
    """A provider none of whose settings is given is the simulator's where developing (its keys,
    ids and address); a gateway left unset is otherwise the provider's real one. Production gets
    no simulator default, so a real deployment never signs with a key from instance/simulator."""
    if not settings.get("SIMULATOR_URL") and settings.get("SIMULATOR") and settings.get("PUBLIC_BASE_URL"):
        settings["SIMULATOR_URL"] = settings["PUBLIC_BASE_URL"].rstrip("/") + "/simulator"
    if settings["ENV_NAME"] != "production" and settings.get("SIMULATOR") and settings.get("SIMULATOR_URL"):
        from kiosk.payments.simulator import provider_settings

        simulated = provider_settings(settings["SIMULATOR_KEYS_DIR"], settings["SIMULATOR_URL"])
        for name, entries in PROVIDER_SETTINGS.items():
            if all(settings.get(setting) is None for setting, _, _, _ in entries):
                settings.update(simulated[name])
    for entries in PROVIDER_SETTINGS.values():
        for setting, _, kind, default in entries:
            if kind == "gateway" and not settings.get(setting):
                settings[setting] = default


def simulated_gateway(settings: Mapping, provider: str) -> bool:
    """The provider's gateway is the simulator's (and the simulator is on): no real money can move."""
    base = settings.get("SIMULATOR_URL")
    if not settings.get("SIMULATOR") or not base or provider not in PROVIDER_SETTINGS:
        return False
    gateway = settings.get("ALIPAY_GATEWAY" if provider == "alipay" else "WECHAT_GATEWAY") or ""
    return gateway.startswith(base.rstrip("/") + "/")


def check_production(settings: Mapping) -> None:
    """Refuse to start production on a development default, a guessable key, the sandbox
    outside training, a half-configured provider, or an address taken from requests. One message
    lists every problem."""
    problems: list[str] = []
    training = settings.get("TRAINING_MODE") is True
    providers = settings.get("PAYMENT_PROVIDERS") or ("sandbox",)

    if not settings.get("SQLALCHEMY_DATABASE_URI"):
        problems.append("KIOSK_DATABASE_URL is not set: give the database every instance and cron job share, "
                        "e.g. postgresql+psycopg://kiosk@db/kiosk")

    keys = ["SECRET_KEY", "ID_DIGEST_KEY", "VERIFY_KEY"] + (["SANDBOX_SIGNING_KEY"] if "sandbox" in providers else [])
    for key in keys:
        problem = secret_problem(settings.get(key))
        if problem:
            problems.append(f"{VARIABLES[key]} {problem}. Make one with: {MAKE_A_SECRET}")
    seen: dict[str, str] = {}
    for key in keys:
        value = settings.get(key)
        if value and value in seen:
            problems.append(f"{VARIABLES[key]} is the same as {VARIABLES[seen[value]]}: each key must be its own secret")
        elif value:
            seen[value] = key

    problem = public_base_url_problem(settings.get("PUBLIC_BASE_URL"))
    if problem:
        problems.append(f"KIOSK_PUBLIC_BASE_URL {problem}")
    problem = terminal_region_problem(settings.get("TERMINAL_REGION"))
    if problem:
        problems.append(f"KIOSK_TERMINAL_REGION {problem}")
    for host in settings.get("EXTRA_TRUSTED_HOSTS") or ():
        if not re.fullmatch(r"\.?[a-z0-9.-]+|\[[0-9a-f:.]+\]", host):
            problems.append(f"KIOSK_TRUSTED_HOSTS has {host!r}: list host names only, separated by commas "
                            "(no scheme, port or path), e.g. kiosk.example.org,10.0.0.5")

    if not training and "sandbox" in providers:
        problems.append("KIOSK_PAYMENT_PROVIDERS is sandbox (the default when it is unset), whose wallet marks orders "
                        "paid without any money. Production takes it only in training mode: set KIOSK_TRAINING_MODE=on, "
                        "and every screen and receipt says 'TRAINING: no real payment'. To take real money, set "
                        "KIOSK_PAYMENT_PROVIDERS=alipay,wechat (or one of them) and their keys (README, 'Real payment providers')")
    problems.extend(provider_problems(settings, production=True))
    problems.extend(sms_problems(settings, production=True))
    if settings.get("SIMULATOR") and not training:
        problems.append("KIOSK_SIMULATOR is on but KIOSK_TRAINING_MODE is off: the simulator's wallet pages mark trades "
                        "paid without any money. Production serves them only in training mode: set KIOSK_TRAINING_MODE=on, "
                        "or unset KIOSK_SIMULATOR")
    if settings.get("SIMULATOR") and training:
        from kiosk.payments.simulator.keys import paths

        missing = [path.name for path in paths(settings["SIMULATOR_KEYS_DIR"]).values() if not path.is_file()]
        if missing:
            problems.append(f"KIOSK_SIMULATOR_KEYS_DIR names {settings['SIMULATOR_KEYS_DIR']!r}, which lacks the simulator's "
                            f"keys ({', '.join(missing)}): make them with `flask simulator-keys --dir <that folder>`")
    warning = settings.get("IDLE_WARNING_SECONDS")
    if isinstance(warning, int) and warning < MIN_IDLE_WARNING_SECONDS:
        problems.append(f"KIOSK_IDLE_WARNING_SECONDS is {warning}: a citizen gets at least {MIN_IDLE_WARNING_SECONDS} seconds "
                        "to answer the idle warning (WCAG 2.2.1, timing adjustable)")
    if settings.get("SANDBOX_NOTIFY") not in ("http", "off"):
        problems.append(f"KIOSK_SANDBOX_NOTIFY is {settings.get('SANDBOX_NOTIFY')!r}: use http or off")

    if problems:
        raise SettingsError("production refuses to start:\n- " + "\n- ".join(problems))


def provider_problems(settings: Mapping, *, production: bool) -> list[str]:
    """Every environment: each provider is one this version knows, listed once; training takes
    only the sandbox, alone; and a real provider has every setting, each key file holds a key
    of the right kind and the gateway is https (http to this machine only outside production,
    for the fakes)."""
    providers = settings.get("PAYMENT_PROVIDERS") or ("sandbox",)
    unknown = [name for name in providers if name not in PROVIDERS]
    if unknown:
        return [f"KIOSK_PAYMENT_PROVIDERS has {name!r}, which this version does not know (known: {', '.join(PROVIDERS)})"
                for name in unknown]
    if len(set(providers)) != len(providers):
        return [f"KIOSK_PAYMENT_PROVIDERS lists a provider twice: {','.join(providers)}"]
    if "sandbox" in providers and len(providers) > 1:
        return [f"KIOSK_PAYMENT_PROVIDERS is {','.join(providers)}: the sandbox takes no real money and is never "
                "offered next to a real provider"]
    if providers == ("sandbox",):
        return []
    problems = []
    for provider in providers:
        if settings.get("TRAINING_MODE") is True and not simulated_gateway(settings, provider):
            gateway = "KIOSK_ALIPAY_GATEWAY" if provider == "alipay" else "KIOSK_WECHAT_GATEWAY"
            problems.append(f"KIOSK_TRAINING_MODE is on but KIOSK_PAYMENT_PROVIDERS has {provider!r}: "
                            f"training uses the sandbox or the simulator (KIOSK_SIMULATOR=on, {gateway} under "
                            "KIOSK_SIMULATOR_URL) only, so no real money can move")
    timeout = settings.get("PROVIDER_TIMEOUT_SECONDS")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        problems.append(f"KIOSK_PROVIDER_TIMEOUT_SECONDS is {timeout!r}: give a whole number of seconds above 0, e.g. 10")
    for provider in providers:
        problems.extend(_real_provider_problems(settings, provider, production))
    return problems


def sms_problems(settings: Mapping, *, production: bool) -> list[str]:
    """The SMS gateway is one this version knows; production names it (the sandbox only in
    training); Alibaba Cloud has every setting and a readable secret."""
    gateway = settings.get("SMS_GATEWAY")
    if gateway is None and production:
        return ["KIOSK_SMS_GATEWAY is not set: say how one-time codes for payment records reach citizens' phones: "
                "aliyun (Alibaba Cloud SMS, with its KIOSK_ALIYUN_SMS_* settings) or off (records only with the ID-card reader)"]
    if gateway not in SMS_GATEWAYS:
        return [f"KIOSK_SMS_GATEWAY is {gateway!r}: use one of {', '.join(SMS_GATEWAYS)}"]
    if gateway == "sandbox" and production and settings.get("TRAINING_MODE") is not True:
        return ["KIOSK_SMS_GATEWAY is sandbox, which sends nothing and shows every code on a web page: production "
                "takes it only in training mode (KIOSK_TRAINING_MODE=on); use aliyun or off"]
    if gateway != "aliyun":
        return []
    problems = [f"{variable} is not set: {what}" for setting, variable, what in ALIYUN_SMS_SETTINGS if not settings.get(setting)]
    path = settings.get("ALIYUN_SMS_ACCESS_KEY_SECRET_FILE")
    if path:
        try:
            if not read_key_file(path).strip():
                problems.append(f"KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE names {path!r}, which is empty")
        except OSError as error:
            problems.append(f"KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE names {path!r}, which cannot be read ({error.strerror})")
        except ValueError:
            problems.append(f"KIOSK_ALIYUN_SMS_ACCESS_KEY_SECRET_FILE names {path!r}, which holds more than the secret's ASCII text")
    return problems


def _real_provider_problems(settings: Mapping, provider: str, production: bool) -> list[str]:
    problems = []
    for setting, variable, kind, what in PROVIDER_SETTINGS[provider]:
        value = settings.get(setting)
        if kind == "gateway":
            problem = gateway_problem(value, production=production, default=what)
        elif not value:
            problem = (f"is not set: give {what}" if kind == "text"
                       else f"is not set: give the path of the file holding {what}, readable by the kiosk only (mode 600)")
        elif kind == "text":
            problem = None
        else:
            problem = key_file_problem(value, kind, what)
        if problem:
            problems.append(f"{variable} {problem}")
    return problems


def read_key_file(path: str) -> str:
    """A key file's text, the way the provider is given it; raises OSError or ValueError."""
    return Path(path).read_bytes().decode("ascii")


def read_apiv3_key(path: str) -> str:
    """The APIv3 key, without the line end an editor or ``echo`` leaves after it."""
    return read_key_file(path).strip()


def key_file_problem(path: str, kind: str, what: str) -> str | None:
    """Why the file at ``path`` does not hold ``what``, or None. Never says anything of its content."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

    if not Path(path).exists():
        hint = "; the simulator's keys are made by `flask simulator-keys` (make db runs it)" if "/simulator/" in str(path) else ""
        return f"names {path!r}, which does not exist: give the path of the file holding {what}{hint}"
    try:
        text = read_key_file(path)
    except OSError as exc:
        return f"names {path!r}, which cannot be read ({exc.strerror or exc}): the kiosk's user must be able to read it (mode 600)"
    except ValueError:
        return f"names {path!r}, which is not a text file: it must hold {what}"
    if kind == "apiv3_key":
        length = len(read_apiv3_key(path).encode())
        if length != APIV3_KEY_BYTES:
            return f"names {path!r}, which holds {length} characters: the APIv3 key is exactly {APIV3_KEY_BYTES}"
        return None
    data = text.encode()
    private = public = None
    try:
        private = load_pem_private_key(data, password=None)
    except TypeError:
        return f"names {path!r}, whose private key is encrypted with a password: store it unencrypted, mode 600"
    except (ValueError, UnsupportedAlgorithm):
        try:
            public = load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm):
            pass
    if kind.endswith("private_key"):
        if not isinstance(private, rsa.RSAPrivateKey):
            found = "a public key" if public else "no RSA private key" if private is None else "a private key that is not RSA"
            return f"names {path!r}, which holds {found}: it must hold {what}"
        if kind == "pkcs8_private_key" and not text.lstrip().startswith("-----BEGIN PRIVATE KEY-----"):
            return (f"names {path!r}, whose private key is not in PKCS#8 form (-----BEGIN PRIVATE KEY-----), the form "
                    "WeChat Pay hands out and its SDK reads: convert it with openssl pkcs8 -topk8 -nocrypt")
        return None
    if not isinstance(public, rsa.RSAPublicKey):
        found = ("a private key (keep it to yourself and give the public key)" if private
                 else "no RSA public key" if public is None else "a public key that is not RSA")
        return f"names {path!r}, which holds {found}: it must hold {what}"
    if kind == "spki_public_key" and not text.lstrip().startswith("-----BEGIN PUBLIC KEY-----"):
        return (f"names {path!r}, whose public key is not in the form -----BEGIN PUBLIC KEY----- that WeChat Pay hands "
                "out and its SDK reads: convert it with openssl rsa -RSAPublicKey_in -pubout")
    return None


def gateway_problem(value, *, production: bool, default: str) -> str | None:
    """Why ``value`` cannot be a provider's gateway, or None: https, or http to this machine
    (the gateways' fakes) outside production."""
    parts = urlsplit(value or "")
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and not production:
        return None
    local = "" if production else f"; http only to {' or '.join(LOCAL_HOSTS)}"
    return f"is {value!r}: give an https URL (unset, it is {default}){local}"


def check_limits(settings: Mapping) -> None:
    """Every environment: a limit that does not parse would be logged by Flask-Limiter and not
    applied at all, which is how a scan of ID numbers would go unnoticed."""
    from limits import parse_many

    problems = []
    for name, (variable, default) in LOOKUP_LIMITS.items():
        try:
            parse_many(settings[name])
        except (ValueError, TypeError):
            problems.append(f"{variable} is {settings[name]!r}: give a limit such as {default!r} "
                            "(several separated by ';')")
    if problems:
        raise SettingsError("the kiosk refuses to start:\n- " + "\n- ".join(problems))


def secret_problem(value) -> str | None:
    """Why ``value`` is no secret for production, or None. Keys are generated, never typed:
    a long random string has many distinct characters and no repeating pattern."""
    if not value:
        return "is not set"
    if not isinstance(value, str):
        return "must be a string"
    if value in DEV_DEFAULTS.values() or "dev-only" in value.lower():
        return "is a development key, published in this repository"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is {len(value)} characters long: use at least {MIN_SECRET_LENGTH} random characters"
    if len(set(value)) < MIN_SECRET_DISTINCT_CHARACTERS or _repeats(value):
        return "is too easy to guess (few distinct characters or a repeating pattern): use a random one"
    return None


def _repeats(value: str) -> bool:
    """``value`` is a shorter string over and over ("abcabcabc...")."""
    return any(value == (value[:period] * (len(value) // period + 1))[: len(value)] for period in range(1, len(value) // 2 + 1))


def public_base_url_problem(value) -> str | None:
    """Why ``value`` cannot be production's public address, or None.

    https only, with no exception for localhost: phones scan this URL from the QR code and the
    provider posts its notifications to it, and neither reaches this machine's localhost; the
    session cookie is Secure in production, so plain http would not even keep a session."""
    example = "give this server's public https address, e.g. https://kiosk.example.org"
    if not value:
        return f"is not set: {example}. Production never builds QR codes or the notify URL from a request's Host header"
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        return f"is {value!r}: {example}"
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"is {value!r}: give the origin only (scheme, host and port, no path), e.g. https://kiosk.example.org"
    return None


def terminal_region_problem(value) -> str | None:
    """Why ``value`` cannot be the terminal's region, or None. Production never guesses it: the
    region's rules decide what every citizen at this terminal is asked to pay."""
    if not value:
        return ("is not set: give the 6-digit code of the region this terminal stands in, whose rule file is loaded "
                "(`flask rules load`), e.g. 110105")
    if not re.fullmatch(r"[0-9]{6}", value, re.ASCII):
        return f"is {value!r}: give the region's 6-digit administrative division code, e.g. 110105"
    return None


def _env_bool(environ: Mapping[str, str], name: str) -> bool:
    """on or off; anything else stops start-up rather than being guessed at."""
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} is {environ[name]!r}: say on or off")


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} is {value!r}: give a whole number of seconds") from None


def _host_list(value: str) -> list[str]:
    return [host.strip().lower() for host in value.split(",") if host.strip()]
