"""What ``bench/surge.py`` checks in the database after the load: money taken twice, or taken
and not recorded. Each count must be 0. Plain SQL on the app's tables (PostgreSQL and SQLite).
"""
from __future__ import annotations

import sqlalchemy as sa

PAID = "('paid', 'refunded')"  # an order whose money was taken (a refunded one was paid first)

CHECKS = {
    # a bill that two orders took money for (the second should have been refused or closed)
    "bills paid by two orders": f"""
        SELECT count(*) FROM (
          SELECT i.bill_id FROM payment_order_item i JOIN payment_order o ON o.id = i.order_id
          WHERE o.status IN {PAID} GROUP BY i.bill_id HAVING count(DISTINCT i.order_id) > 1) AS twice""",
    # a bill marked settled by two items (the partial unique index should make this impossible)
    "bills settled twice": """
        SELECT count(*) FROM (
          SELECT bill_id FROM payment_order_item WHERE settled GROUP BY bill_id HAVING count(*) > 1) AS twice""",
    # an order whose payment was recorded more than once (one 'paid' event per recorded payment)
    "orders paid twice": """
        SELECT count(*) FROM (
          SELECT order_id FROM payment_event WHERE kind = 'paid' GROUP BY order_id HAVING count(*) > 1) AS twice""",
    # the sandbox took the money but the kiosk recorded no payment for its order
    "sandbox trades paid, no payment recorded": f"""
        SELECT count(*) FROM sandbox_trade t LEFT JOIN payment_order o ON o.out_trade_no = t.out_trade_no
        WHERE (t.status = 'TRADE_SUCCESS' OR t.refunded_fen > 0)
          AND (o.id IS NULL OR o.status NOT IN {PAID}
               OR NOT EXISTS (SELECT 1 FROM payment_event e WHERE e.order_id = o.id AND e.kind = 'paid'))""",
    # a recorded payment the sandbox never took
    "payments recorded, sandbox trade unpaid": f"""
        SELECT count(*) FROM payment_order o LEFT JOIN sandbox_trade t ON t.out_trade_no = o.out_trade_no
        WHERE o.provider = 'sandbox' AND o.status IN {PAID}
          AND (t.id IS NULL OR NOT (t.status = 'TRADE_SUCCESS' OR t.refunded_fen > 0))""",
}


def double_payments(connection: sa.Connection) -> dict[str, int]:
    """Each check's count (all must be 0)."""
    return {name: connection.execute(sa.text(query)).scalar_one() for name, query in CHECKS.items()}


def order_counts(connection: sa.Connection) -> dict[str, int]:
    """Orders by status, for the report."""
    rows = connection.execute(sa.text("SELECT status, count(*) FROM payment_order GROUP BY status ORDER BY status"))
    return {status: count for status, count in rows}
