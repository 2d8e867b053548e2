"""What a citizen does at the kiosk, as Playwright steps, and the screenshots taken on the way."""
from __future__ import annotations

import re
from pathlib import Path

from flask_babel import force_locale, gettext
from playwright.sync_api import Page, expect

TIMEOUT_MS = 10_000
KIOSK_PORTRAIT = {"width": 1080, "height": 1920}
KIOSK_LANDSCAPE = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
PHONE_LANDSCAPE = {"width": 844, "height": 390}
KIOSK_SIZES = {"portrait": KIOSK_PORTRAIT, "landscape": KIOSK_LANDSCAPE}
PHONE_SIZES = {"portrait": PHONE, "landscape": PHONE_LANDSCAPE}

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
MONEY = re.compile(r"¥\d[\d,]*\.\d\d")
LARGE_TEXT = re.compile(r"\blarge-text\b")


def url_is(kiosk, path: str) -> re.Pattern:
    """The page's address is ``path`` on this server, with or without a query string."""
    return re.compile(re.escape(kiosk(path)) + r"(\?.*)?$")


def shoot(page: Page, name: str, sizes: dict = KIOSK_SIZES) -> None:
    """The screen as the citizen sees it (the viewport, not the whole page), in each orientation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for orientation, size in sizes.items():
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"{name}-{orientation}.png", animations="disabled", caret="hide")
    page.set_viewport_size(before)


def translated(app, locale: str, message) -> str:
    """``message`` as the app shows it in ``locale``: the catalog's text, or the English while
    the catalog has no translation for it."""
    with app.test_request_context(), force_locale(locale):
        return str(message) if not isinstance(message, str) else gettext(message)


def start(page: Page, kiosk) -> None:
    """From the attract screen, tap the one service: the keypad comes up."""
    page.goto(kiosk("/"))
    page.locator("#service-pay").click()
    expect(page).to_have_url(url_is(kiosk, "/identify"))
    expect(page.locator("#id_number")).to_be_visible()
    scripts_ready(page)


def scripts_ready(page: Page) -> None:
    """The page paints before its deferred scripts (htmx, then kiosk.js) run: a tap or a tick in
    between would not count. kiosk.js marks <html data-ready> when it has run."""
    expect(page.locator("html[data-ready]")).to_have_count(1)


def tap_number(page: Page, number: str) -> None:
    """Type an ID number with the on-screen keypad, one key at a time, once the keypad's script
    is listening (a tap before it runs is lost)."""
    scripts_ready(page)
    for character in number:
        page.locator(f'[data-key="{character.upper()}"]').click()


def identify(page: Page, kiosk, number: str) -> None:
    """Keypad, Next: the person screen."""
    tap_number(page, number)
    expect(page.locator("#id_number")).to_have_value(number)
    page.locator("#identify-next").click()
    expect(page).to_have_url(url_is(kiosk, "/person"))


def to_qr(page: Page, kiosk, number: str) -> str:
    """Start, identify, confirm, pay everything listed: the QR screen. Returns the wallet URL."""
    start(page, kiosk)
    identify(page, kiosk, number)
    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    page.locator("#pay-button").click()
    return wallet_url(page, kiosk)


def wallet_url(page: Page, kiosk, app: str | None = None) -> str:
    """What a phone would read from the QR code of ``app`` (default: the first offered) on the screen."""
    expect(page).to_have_url(url_is(kiosk, "/payment"))
    name = app or kiosk.app.config["PAYMENT_PROVIDERS"][0]
    qr = page.locator(f"#qr-{name} .qr[data-qr-payload]")
    expect(qr.locator("svg")).to_be_visible()
    url = qr.get_attribute("data-qr-payload")
    # the simulator's wallet page, made by the real adapter's precreate (the sandbox's where a test asks for it)
    assert url and url.startswith(kiosk("/sandbox/wallet/" if name == "sandbox" else f"/simulator/{name}/pay/"))
    return url


def choose(page: Page, lang: str, large: bool) -> None:
    """On the current screen, switch to ``lang`` and ``large`` text where they differ from the
    defaults (Chinese, normal text)."""
    if lang == "en":
        page.locator("#toggle-language").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    if large:
        page.locator("#toggle-text-size").click()
        expect(page.locator("body")).to_have_class(LARGE_TEXT)
