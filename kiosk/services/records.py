"""Payment records, certificates and verification codes (issue 9).

- ``payment_records``: every settled item of a person's own bills, from every channel.
- ``issue_certificate``: a certificate of one year and scheme, stored with its totals as issued.
- ``receipt_code`` / ``certificate_code``: the verification code printed as a QR code; its
  serial is stored, its tag made with ``VERIFY_KEY`` (``domain.verification``).
- ``verify``: what /verify/<code> shows, for a genuine code only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, select, update

from ..domain import verification
from ..domain.clock import utcnow
from ..domain.idnumber import mask_name
from ..domain.records import PaidPeriod, YearScheme, certificate_group
from ..models import Bill, Certificate, PaymentAttempt, PaymentEvent, PaymentOrder, PaymentOrderItem, Person, Receipt, Terminal
from .uow import UnitOfWork

STATEMENT_REPAIR = "statement_repair"  # the event reconciliation logs when a statement recovers a payment


def payment_records(session, person_id: int) -> list[PaidPeriod]:
    """The person's paid bills, whoever paid them and however: one read."""
    repaired = exists().where(PaymentEvent.order_id == PaymentOrder.id, PaymentEvent.kind == STATEMENT_REPAIR)
    rows = session.execute(
        select(Bill.scheme, Bill.period_start, Bill.period_end, PaymentOrderItem.amount_fen, PaymentAttempt.paid_at,
               PaymentAttempt.provider, PaymentOrder.staff_id, repaired, Receipt.id, Receipt.number, PaymentOrder.payer_id)
        .join(PaymentOrderItem, PaymentOrderItem.bill_id == Bill.id)
        .join(PaymentOrder, PaymentOrder.id == PaymentOrderItem.order_id)
        .join(PaymentAttempt, PaymentAttempt.id == PaymentOrder.paid_attempt_id)
        .outerjoin(Receipt, Receipt.order_id == PaymentOrder.id)
        .where(Bill.person_id == person_id, PaymentOrderItem.settled.is_(True))
        .order_by(Bill.period_start)).all()
    # the demo's and older counter payments name the counter as their provider, with no cashier
    return [PaidPeriod(scheme, start, end, amount, paid_at, provider, staff_id is not None or provider == "counter", bool(from_statement),
                       receipt_id, receipt_number, payer_id != person_id)
            for scheme, start, end, amount, paid_at, provider, staff_id, from_statement, receipt_id, receipt_number, payer_id in rows]


def receipt_of(session, person_id: int, receipt_id: int) -> Receipt | None:
    """A receipt the person may reprint: one with an item of their own bills on it (a family's
    receipt lists them too), not voided."""
    mine = exists().where(PaymentOrderItem.order_id == Receipt.order_id, PaymentOrderItem.person_id == person_id,
                          PaymentOrderItem.settled.is_(True))
    return session.scalar(select(Receipt).where(Receipt.id == receipt_id, Receipt.voided_at.is_(None), mine))


def certificate_choice(session, person_id: int, year, scheme) -> tuple[int, str] | None:
    """(year, scheme) as a form sent them, if the person paid something for them; else None."""
    if not isinstance(year, int) or not isinstance(scheme, str):
        return None
    chosen = certificate_group(payment_records(session, person_id), year, scheme)
    return (year, scheme) if chosen is not None else None


def issue_certificate(uow: UnitOfWork, *, person_id: int, year: int, scheme: str, terminal_id: int,
                      staff_id: int | None = None, now: dt.datetime | None = None) -> int | None:
    """Store a certificate of what ``payment_records`` says now for ``year`` and ``scheme``; None
    when nothing was paid for them. Returns its id."""
    now = now or utcnow()
    with uow:
        session = uow.session
        group = certificate_group(payment_records(session, person_id), year, scheme)
        if group is None:
            return None
        person = session.get(Person, person_id)
        terminal = session.get(Terminal, terminal_id)
        certificate = Certificate(verify_serial=verification.new_serial(), person_id=person_id, scheme=scheme, year=year,
                                  period_from=group.first_month, period_to=group.last_day, months=group.months, payments=len(group.periods), total_fen=group.total_fen,
                                  holder_masked=mask_name(person.name), id_masked=person.id_masked,
                                  agency_name=(terminal.region or person.region).agency_name, terminal_code=terminal.code,
                                  staff_id=staff_id, issued_at=now, print_count=1)  # issued to be printed, at once
        session.add(certificate)
        session.flush()
        certificate_id = certificate.id
        uow.commit()
    return certificate_id


def receipt_code(uow: UnitOfWork, key: bytes, receipt_id: int) -> str:
    """The receipt's verification code. A receipt from before issue 9 gets its serial now (once,
    by compare-and-set, so two racing requests print the same code); others cost one read."""
    serial = uow.session.scalar(select(Receipt.verify_serial).where(Receipt.id == receipt_id))
    if serial is None:
        with uow:
            uow.session.execute(update(Receipt).where(Receipt.id == receipt_id, Receipt.verify_serial.is_(None))
                                .values(verify_serial=verification.new_serial()).execution_options(synchronize_session=False))
            uow.commit()
        serial = uow.session.scalar(select(Receipt.verify_serial).where(Receipt.id == receipt_id))
    return verification.code_of(key, verification.Kind.RECEIPT, serial)


def order_receipt_code(uow: UnitOfWork, key: bytes, order_id: int) -> str | None:
    """The verification code of the order's receipt; None when it has none (everything in it had
    been paid elsewhere). Read before the page loads the order, whose objects a write would expire."""
    receipt_id = uow.session.scalar(select(Receipt.id).where(Receipt.order_id == order_id))
    return receipt_code(uow, key, receipt_id) if receipt_id is not None else None


def certificate_code(key: bytes, certificate: Certificate) -> str:
    return verification.code_of(key, verification.Kind.CERTIFICATE, certificate.verify_serial)


def certificate_lines(session, certificate: Certificate) -> YearScheme | None:
    """The periods behind a certificate, as they stand now."""
    return certificate_group(payment_records(session, certificate.person_id), certificate.year, certificate.scheme)


@dataclass(frozen=True)
class VerifiedReceipt:
    receipt: Receipt
    order: PaymentOrder


@dataclass(frozen=True)
class VerifiedCertificate:
    certificate: Certificate
    changed_since: bool  # the payments of its year and scheme no longer add up to what it states


def verify(session, key: bytes, typed: str) -> VerifiedReceipt | VerifiedCertificate | None:
    """The document behind a genuine code, or None (altered, forged, unknown). The tag is checked
    before any read: guessing costs no database work."""
    checked = verification.check(key, typed)
    if checked is None:
        return None
    kind, serial = checked
    if kind is verification.Kind.RECEIPT:
        receipt = session.scalar(select(Receipt).where(Receipt.verify_serial == serial))
        return VerifiedReceipt(receipt, receipt.order) if receipt is not None else None
    certificate = session.scalar(select(Certificate).where(Certificate.verify_serial == serial))
    if certificate is None:
        return None
    now = certificate_lines(session, certificate)
    changed = now is None or (now.total_fen, now.months) != (certificate.total_fen, certificate.months)
    return VerifiedCertificate(certificate, changed)
