"""Chinese words are not split across lines (audit of issue 7, item 7: "身份证号/码", "缴/费"): on every
screen that shows them, in both text sizes and both orientations, each stays on one line."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import CHEN_JIANGUO, ZHAO_MIN

from .steps import KIOSK_SIZES, LARGE_TEXT, identify, start, url_is, wallet_url

pytestmark = pytest.mark.browser

WORDS = ["身份证号码", "身份证", "缴费", "支付宝", "微信支付", "滞纳金", "医疗保险", "养老保险", "收据"]

# every visible occurrence of each word: the lines its characters are on (a split word has two)
SPLIT_WORDS = """words => {
  const split = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.getClientRects().length) continue;
    for (const word of words) {
      for (let at = node.data.indexOf(word); at >= 0; at = node.data.indexOf(word, at + 1)) {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + word.length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) split.push(word + " in " + JSON.stringify(node.data.trim()) + " <" + node.parentElement.tagName + " id=" + node.parentElement.id + " class=" + node.parentElement.className + ">");
      }
    }
  }
  return split;
}"""


# what a word that may not break pushes out: the page sideways, or a box out of its column
OVERFLOWS = """() => {
  const out = [];
  if (document.documentElement.scrollWidth > innerWidth) out.push("the page is wider than the screen");
  for (const e of document.querySelectorAll("main *")) {
    if (!e.getClientRects().length || getComputedStyle(e).position === "fixed") continue;
    let holder = e.parentElement;
    while (getComputedStyle(holder).display === "contents") holder = holder.parentElement;
    const box = e.getBoundingClientRect(), parent = holder.getBoundingClientRect();
    if (box.right > parent.right + 1 && !["INPUT", "svg"].includes(e.tagName) && !e.closest("svg"))
      out.push(e.tagName + "#" + e.id + "." + e.className + " sticks out of its box by " + Math.round(box.right - parent.right) + " px");
  }
  return out;
}"""


def split_words(page, screen: str, problems: list[str]) -> None:
    for orientation, size in KIOSK_SIZES.items():
        page.set_viewport_size(size)
        for found in page.evaluate(SPLIT_WORDS, WORDS) + page.evaluate(OVERFLOWS):
            problems.append(f"{screen}, {orientation}: {found}")
    page.set_viewport_size(KIOSK_SIZES["portrait"])


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_no_chinese_word_is_split_across_lines(kiosk, page, phone, large):
    problems: list[str] = []
    page.goto(kiosk("/"))
    if large:
        page.locator("#toggle-text-size").click()
        expect(page.locator("body")).to_have_class(LARGE_TEXT)
    split_words(page, "attract", problems)
    start(page, kiosk)
    split_words(page, "identify", problems)
    page.locator("#identify-next").click()
    expect(page.locator("#id-error")).to_be_visible()
    split_words(page, "identify with an error", problems)
    identify(page, kiosk, ZHAO_MIN)
    split_words(page, "person", problems)
    page.locator("#confirm-person").click()
    expect(page).to_have_url(url_is(kiosk, "/dues"))
    split_words(page, "dues", problems)
    page.locator("#not-me").click()
    identify(page, kiosk, CHEN_JIANGUO)  # the longest scheme names, six items
    page.locator("#confirm-person").click()
    split_words(page, "dues, six items", problems)
    page.locator("#not-me").click()
    identify(page, kiosk, ZHAO_MIN)
    page.locator("#confirm-person").click()
    page.locator("#pay-button").click()
    url = wallet_url(page, kiosk)
    split_words(page, "QR codes", problems)
    phone.goto(url)
    phone.locator("#wallet-pay").click()
    expect(page).to_have_url(url_is(kiosk, "/receipt"))
    split_words(page, "receipt", problems)
    assert not problems, "\n".join(problems)
