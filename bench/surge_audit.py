"""What ``bench/surge.py`` checks in the database after the load: money taken twice, or taken
and not recorded. Each count must be 0. Plain SQL on the app's tables (PostgreSQL and SQLite).

An order's money moves in its attempts (one provider trade and QR code each); the first attempt
paid wins (``payment_order.paid_attempt_id``) and any other payment is given back. In the bench
the phone pays one QR code of each order once (the sandbox's only one, or the simulator's
Alipay code of two), so every count below must be 0.
"""
from __future__ import annotations

import sqlalchemy as sa

TAKEN = "('paid', 'refunded')"  # an attempt whose money was taken (a refunded one was paid first)

CHECKS = {
    # a bill that two orders took money for (the second should have been refused or closed)
    "bills paid by two orders": """
        SELECT count(*) FROM (
          SELECT i.bill_id FROM payment_order_item i JOIN payment_order o ON o.id = i.order_id
          WHERE o.paid_attempt_id IS NOT NULL GROUP BY i.bill_id HAVING count(DISTINCT i.order_id) > 1) AS twice""",
    # a bill marked settled by two items (the partial unique index should make this impossible)
    "bills settled twice": """
        SELECT count(*) FROM (
          SELECT bill_id FROM payment_order_item WHERE settled GROUP BY bill_id HAVING count(*) > 1) AS twice""",
    # an order whose money was taken by two of its attempts (two QR codes paid)
    "orders paid by two trades": f"""
        SELECT count(*) FROM (
          SELECT order_id FROM payment_attempt WHERE status IN {TAKEN} GROUP BY order_id HAVING count(*) > 1) AS twice""",
    # one payment recorded more than once (one 'paid' event per recorded payment of an attempt)
    "payments recorded twice": """
        SELECT count(*) FROM (
          SELECT attempt_id FROM payment_event WHERE kind = 'paid' AND attempt_id IS NOT NULL
          GROUP BY attempt_id HAVING count(*) > 1) AS twice""",
    # the sandbox took the money but the kiosk recorded no payment for its attempt
    "sandbox trades paid, no payment recorded": f"""
        SELECT count(*) FROM sandbox_trade t LEFT JOIN payment_attempt a ON a.out_trade_no = t.out_trade_no
        WHERE (t.status = 'TRADE_SUCCESS' OR t.refunded_fen > 0)
          AND (a.id IS NULL OR a.status NOT IN {TAKEN}
               OR NOT EXISTS (SELECT 1 FROM payment_event e WHERE e.attempt_id = a.id AND e.kind = 'paid'))""",
    # a recorded payment the sandbox never took
    "payments recorded, sandbox trade unpaid": f"""
        SELECT count(*) FROM payment_attempt a LEFT JOIN sandbox_trade t ON t.out_trade_no = a.out_trade_no
        WHERE a.provider = 'sandbox' AND a.status IN {TAKEN}
          AND (t.id IS NULL OR NOT (t.status = 'TRADE_SUCCESS' OR t.refunded_fen > 0))""",
}


# each payment a phone made through the gateway simulator, recorded once (its trades are in the
# simulator's memory: the bench counts the Pay taps it answered "paid")
PAYMENTS_RECORDED = """
    SELECT count(*) FROM payment_attempt a WHERE a.provider IN ('alipay', 'wechat') AND a.status IN """ + TAKEN


def double_payments(connection: sa.Connection, phones_paid: int | None = None) -> dict[str, int]:
    """Each check's count (all must be 0). ``phones_paid``: the payments the phones made at the
    gateway simulator; the difference with the payments recorded is counted both ways."""
    sandbox = phones_paid is None  # the sandbox's trades are in the database; the simulator's are not
    found = {name: connection.execute(sa.text(query)).scalar_one() for name, query in CHECKS.items()
             if sandbox or "sandbox" not in name}
    if phones_paid is not None:
        recorded = connection.execute(sa.text(PAYMENTS_RECORDED)).scalar_one()
        found["simulator payments not recorded"] = max(0, phones_paid - recorded)
        found["payments recorded, not made at the simulator"] = max(0, recorded - phones_paid)
    return found


def order_counts(connection: sa.Connection) -> dict[str, int]:
    """Payment attempts (one per order here) by status, for the report."""
    rows = connection.execute(sa.text("SELECT status, count(*) FROM payment_attempt GROUP BY status ORDER BY status"))
    return {status: count for status, count in rows}
