"""axe-core in the browser tests: every journey screen is checked, and a serious or critical
violation fails the test (with the rule, the elements and how to fix them in the message).

axe is evaluated in the page by Playwright (``page.evaluate``), not added as a <script>: the
page's Content-Security-Policy allows only its own scripts, and stays as strict as in production.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

FAILING_IMPACTS = ("serious", "critical")
# best-practice rules of lesser impact that the kiosk keeps anyway: each screen says what it is
ALSO_FAILING = ("page-has-heading-one", "landmark-one-main", "region", "document-title", "heading-order")

RUN = """async ([options]) => {
  const result = await axe.run(document, options);
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))
  }));
}"""


@cache
def axe_source() -> str:
    data = AXE_JS.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert digest == AXE_SHA256, f"{AXE_JS} is not axe-core {AXE_VERSION} as vendored (sha256 {digest})"
    return data.decode("utf-8")


def violations(page: Page) -> list[dict]:
    """What axe finds on the page as it is now (WCAG 2.2 A and AA, and axe's best practices)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    options = {"resultTypes": ["violations"],
               "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}}
    return page.evaluate(RUN, [options])


def failing(found: list[dict]) -> list[dict]:
    return [v for v in found if v["impact"] in FAILING_IMPACTS or v["id"] in ALSO_FAILING]


def report(screen: str, page: Page, bad: list[dict]) -> str:
    return f"axe on {screen} ({page.url}):\n" + json.dumps(bad, ensure_ascii=False, indent=1)


def expect_accessible(page: Page, screen: str) -> None:
    """No serious or critical violation on ``page``; ``screen`` names it in the failure message."""
    bad = failing(violations(page))
    assert not bad, report(screen, page, bad)


class Audit:
    """A walk's findings, screen by screen: ``audit.check(page, screen)`` on each, then
    ``audit.expect_none()`` fails once with every screen's violations, not only the first's."""

    def __init__(self):
        self.problems: list[str] = []
        self.screens: list[str] = []
        self.seen: dict[str, list[dict]] = {}  # every violation, of any impact (printed by -s with KIOSK_AXE_VERBOSE)

    def check(self, page: Page, screen: str) -> None:
        self.screens.append(screen)
        found = self.seen[screen] = violations(page)
        if os.environ.get("KIOSK_AXE_VERBOSE"):
            print(screen, [(v["id"], v["impact"], len(v["nodes"])) for v in found])
        bad = failing(found)
        if bad:
            self.problems.append(report(screen, page, bad))

    def expect_none(self) -> None:
        assert not self.problems, f"{len(self.problems)} of {len(self.screens)} screens fail axe:\n" + "\n".join(self.problems)
