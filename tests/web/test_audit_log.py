"""The audit log's search and export (issue 8): administrators only, by who, what, where and when."""
from __future__ import annotations

import csv
import io

from tests.helpers import ZHANG_SAN
from tests.web.test_counter import identify, pay
from tests.web.test_staff import csrf_token_of, log_in, make_staff


def switch(client, username):
    client.post("/staff/logout", data={"csrf_token": csrf_token_of(client.get("/staff/").text)})
    log_in(client, username)


def test_only_administrators_search_the_audit_log(demo, runner, client):
    make_staff(runner, "wang", "supervisor")
    log_in(client, "wang")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403


def test_search_by_who_what_and_when_and_export_what_is_found(demo, runner, client):
    make_staff(runner, "li.na", "cashier")
    make_staff(runner, "root", "admin")
    log_in(client, "li.na")
    identify(client, ZHANG_SAN)
    pay(client, tendered="400")
    switch(client, "root")
    everything = client.get("/admin/audit")
    assert everything.status_code == 200 and "counter.payment" in everything.text and "staff.create" in everything.text
    mine = client.get("/admin/audit?username=LI.NA&action=counter.")
    actions = [chunk.split("<", 1)[0] for chunk in mine.text.split('class="action">')[1:]]
    assert actions == ["counter.payment", "counter.identify"]
    assert ZHANG_SAN not in mine.text  # who was looked up is an internal id, never the ID number
    assert "counter.payment" not in client.get("/admin/audit?since=2000-01-01&until=2000-12-31").text
    bad = client.get("/admin/audit?since=yesterday")
    assert bad.status_code == 422 and 'id="audit-error"' in bad.text
    export = client.get("/admin/audit.csv?username=li.na&action=counter.")
    assert export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert [row[3] for row in rows[1:]] == ["counter.payment", "counter.identify"] and rows[1][2] == "li.na"
    # the export is an action of its own
    assert client.get("/admin/audit?action=audit.export").text.count('class="action">audit.export') == 1
