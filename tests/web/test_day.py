"""End of day's pages (issue 8): the report, the chart as an image, the CSV, closing the day."""
from __future__ import annotations

import csv
import io

import pytest

from tests.helpers import ZHANG_SAN, amount_text
from tests.web.test_counter import identify, pay, post
from tests.web.test_staff import csrf_token_of, log_in, make_staff


@pytest.fixture
def day_with_a_sale(demo, runner, client):
    """The cashier took ¥400 cash at COUNTER-01, with ¥100 float; then the supervisor logs in."""
    make_staff(runner, "li.na", "cashier")
    make_staff(runner, "wang", "supervisor")
    log_in(client, "li.na")
    post(client, "/counter/float", {"amount": "100"})
    identify(client, ZHANG_SAN)
    pay(client, tendered="500")
    client.post("/staff/logout", data={"csrf_token": csrf_token_of(client.get("/staff/").text)})
    log_in(client, "wang")
    return client


def test_a_cashier_does_not_see_the_day(demo, runner, client):
    make_staff(runner, "li.na", "cashier")
    log_in(client, "li.na")
    assert client.get("/staff/day/").status_code == 403


def test_the_day_shows_each_line_the_drawer_and_the_chart(day_with_a_sale):
    client = day_with_a_sale
    page = client.get("/staff/day/")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert amount_text(page.text, "day-taken") == "¥800.00"  # the cash sale and the demo's earlier counter payment
    assert 'id="drawer-COUNTER-01"' in page.text and "¥500.00" in page.text
    chart_url = page.text.split('id="day-chart"')[0].rsplit('src="', 1)[1].split('"')[0]
    chart = client.get(chart_url)
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml" and chart.text.lstrip().startswith("<")
    assert "script-src 'self'" in chart.headers["Content-Security-Policy"]  # its inline script never runs


def test_the_csv_has_a_line_per_terminal_channel_and_cashier(day_with_a_sale):
    client = day_with_a_sale
    response = client.get(client.get("/staff/day/").text.split('id="day-csv"')[0].rsplit('href="', 1)[1].split('"')[0])
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    cash = next(row for row in rows if len(row) == 9 and row[1] == "COUNTER-01")
    assert cash[3] == "Li Na" and cash[4:6] == ["1", "400.00"]
    drawer = next(row for row in rows if len(row) == 5 and row[1] == "COUNTER-01")
    assert drawer[2] == "500.00" and drawer[3] == ""


def test_closing_the_day_needs_every_count_and_then_refuses_changes(day_with_a_sale, app):
    client = day_with_a_sale
    page = client.get("/staff/day/")
    token = csrf_token_of(page.text)
    field = page.text.split('name="count-')[1].split('"')[0]
    refused = client.post("/staff/day/close", data={"csrf_token": token, f"count-{field}": "lots"})
    assert refused.status_code == 422 and 'id="day-error"' in refused.text
    done = client.post("/staff/day/close", data={"csrf_token": token, f"count-{field}": "480"})
    assert done.status_code == 303
    closed = client.get(done.headers["Location"])
    assert 'id="close-day"' not in closed.text and "-¥20.00" in closed.text.replace("¥-", "-¥")
    again = client.post("/staff/day/close", data={"csrf_token": token, f"count-{field}": "480"})
    assert again.status_code == 422 and 'id="day-error"' in again.text


def test_an_unknown_day_is_not_found(day_with_a_sale):
    assert day_with_a_sale.get("/staff/day/not-a-date").status_code == 404
