"""Employer arrears' pages (issue 8): find, notice, propose, approve (four eyes), collect."""
from __future__ import annotations

import datetime as dt
import re

from kiosk.demo import DEMO_EMPLOYER
from kiosk.domain.clock import local_today, utcnow
from tests.helpers import amount_text
from tests.web.test_staff import csrf_token_of, log_in, make_staff


def switch(client, username):
    client.post("/staff/logout", data={"csrf_token": csrf_token_of(client.get("/staff/").text)})
    log_in(client, username)


def test_set_up_and_collect_an_instalment(demo, runner, client):
    make_staff(runner, "li.na", "cashier")
    make_staff(runner, "wang", "supervisor")
    log_in(client, "li.na")
    found = client.get(f"/staff/employers/?q={DEMO_EMPLOYER[0]}")
    link = re.search(r'href="(/staff/employers/\d+)"', found.text).group(1)
    page = client.get(link)
    assert page.status_code == 200 and DEMO_EMPLOYER[1] in page.text
    balance = amount_text(page.text, "balance")
    notice = client.get(f"{link}/notice")
    assert notice.status_code == 200 and amount_text(notice.text, "notice-total") == balance
    first_due = (local_today(utcnow()) + dt.timedelta(days=7)).isoformat()
    token = csrf_token_of(page.text)
    bad = client.post(f"{link}/agreements", data={"csrf_token": token, "kind": "employer", "parties": "x", "count": "99",
                                                  "first_due": first_due})
    assert bad.status_code == 422 and 'id="employer-error"' in bad.text
    made = client.post(f"{link}/agreements", data={"csrf_token": token, "kind": "employer", "parties": DEMO_EMPLOYER[1],
                                                   "count": "3", "first_due": first_due})
    assert made.status_code == 303
    page = client.get(link)
    agreement_id = re.search(r'id="agreement-(\d+)"', page.text).group(1)
    assert f'id="approve-agreement-{agreement_id}"' not in page.text  # a cashier decides nothing
    assert amount_text(page.text, "balance") == balance  # nothing changed by proposing
    switch(client, "wang")
    approved = client.post(f"/staff/employers/agreements/{agreement_id}/approve", data={"csrf_token": token})
    assert approved.status_code == 303
    switch(client, "li.na")
    page = client.get(link)
    assert f'id="kept-{agreement_id}"' in page.text and amount_text(page.text, "balance") == balance
    instalment = re.search(r'id="pay-instalment-(\d+)"', page.text).group(1)
    short = client.post(f"/staff/employers/instalments/{instalment}/pay",
                        data={"csrf_token": csrf_token_of(page.text), "method": "cash", "tendered": "1"})
    assert short.status_code == 422 and f'id="pay-error-{instalment}"' in short.text
    paid = client.post(f"/staff/employers/instalments/{instalment}/pay",
                       data={"csrf_token": csrf_token_of(page.text), "method": "cash", "tendered": "10000"})
    assert paid.status_code == 200 and 'id="instalment-paid"' in paid.text
    remaining = amount_text(paid.text, "remaining")
    assert remaining != balance and amount_text(client.get(link).text, "balance") == remaining
    again = client.post(f"/staff/employers/instalments/{instalment}/pay",
                        data={"csrf_token": csrf_token_of(page.text), "method": "cash", "tendered": "10000"})
    assert again.status_code == 422


def test_a_supervisor_does_not_approve_their_own_agreement(demo, runner, client):
    make_staff(runner, "wang", "supervisor")
    log_in(client, "wang")
    link = re.search(r'href="(/staff/employers/\d+)"', client.get(f"/staff/employers/?q={DEMO_EMPLOYER[1][:4]}").text).group(1)
    page = client.get(link)
    first_due = (local_today(utcnow()) + dt.timedelta(days=7)).isoformat()
    client.post(f"{link}/agreements", data={"csrf_token": csrf_token_of(page.text), "kind": "bankruptcy", "parties": "清算组",
                                            "count": "2", "first_due": first_due})
    page = client.get(link)
    agreement_id = re.search(r'id="agreement-(\d+)"', page.text).group(1)
    refused = client.post(f"/staff/employers/agreements/{agreement_id}/approve", data={"csrf_token": csrf_token_of(page.text)})
    assert refused.status_code == 422 and 'id="employer-error"' in refused.text
