"""What a receipt page shows (``receipt_view``), and receipts and certificates as printer
documents (``printing.document``) for terminals that print ESC/POS: the same content as the HTML
receipt (templates/receipts/_receipt.html) and certificate (templates/records/_certificate.html),
worded in the page's language."""
from __future__ import annotations

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _

from ..domain.clock import to_local
from ..domain.idnumber import mask_name
from ..domain.money import yuan
from ..domain.premiums import Scheme
from ..printing.document import Document, Feed, Pair, Qr, Rule, Text, Title
from ..services import checkout, printing, receipts, records
from . import period_label, uow, verify_key, verify_url
from .messages import PROVIDERS, SCHEMES


def _money(fen: int) -> str:
    return "¥" + yuan(fen)


def _scheme(code: str) -> str:
    return str(SCHEMES[Scheme(code)])


def _time(moment) -> str:
    return format_datetime(to_local(moment), "yyyy-MM-dd HH:mm:ss")


def receipt_document(order, receipt, groups, kept_fen: int, verify_code: str | None, *, reprint: bool, training: bool) -> Document:
    lines = []
    if training:
        lines.append(Text(_("TRAINING: no real payment"), "center"))
    if reprint:
        lines.append(Text(_("REPRINT (copy %(number)d)", number=receipt.print_count), "center"))
    lines += [Title(receipt.agency_name), Text(_("Social insurance premium receipt"), "center"), Rule(),
              Pair(_("Receipt no."), receipt.number), Pair(_("Payer"), receipt.payer_masked), Pair(_("ID number"), receipt.id_masked),
              Rule()]
    family = len(groups) > 1 or (groups and not groups[0].is_payer)
    for group in groups:
        if family:
            who = mask_name(group.person.name) + " · " + group.person.id_masked
            lines.append(Text(_("Insured: %(who)s", who=who) + (" " + _("(payer)") if group.is_payer else "")))
        for item in group.items:
            bill = item.bill
            lines += [Text(_scheme(bill.scheme)),
                      Pair(_("Period"), f"{bill.period_start.isoformat()} – {bill.period_end.isoformat()}"),
                      Pair(_("Premium"), _money(item.principal_fen))]
            if item.subsidy_fen:
                lines.append(Pair(_("Subsidy"), "−" + _money(item.subsidy_fen)))
            if item.late_fee_fen:
                lines.append(Pair(_("Late fee"), _money(item.late_fee_fen)))
            lines.append(Pair(_("Paid"), _money(item.amount_fen)))
        if family:
            lines.append(Pair(_("Subtotal"), _money(group.paid_fen)))
    channel = _("Counter") if order.staff_id else _("QR code payment")
    provider = order.paid_attempt.provider
    lines += [Rule(), Pair(_("Total"), _money(kept_fen)),
              Pair(_("Channel"), f"{channel} · {PROVIDERS.get(provider, provider)}"),
              Pair(_("Transaction no."), order.paid_attempt.provider_trade_no or ""),
              Pair(_("Time"), _time(receipt.issued_at)), Pair(_("Terminal"), receipt.terminal_code)]
    if verify_code:
        lines += [Feed(), Text(_("Scan for the electronic receipt, or to check this one is genuine:"), "center"),
                  Qr(verify_url(verify_code)), Text(verify_code, "center")]
    if training:
        lines.append(Text(_("TRAINING: no real payment"), "center"))
    return Document(tuple(lines + [Feed(2)]))


def certificate_document(certificate, lines_now, verify_code: str, *, reprint: bool, training: bool) -> Document:
    lines = []
    if training:
        lines.append(Text(_("TRAINING: no real payment"), "center"))
    if reprint:
        lines.append(Text(_("COPY (print %(number)d)", number=certificate.print_count), "center"))
    lines += [Title(certificate.agency_name), Text(_("Social insurance payment certificate"), "center"), Rule(),
              Text(_("This certifies that the insured person below paid the following contributions for %(year)s.",
                     year=certificate.year)),
              Pair(_("Insured"), certificate.holder_masked), Pair(_("ID number"), certificate.id_masked),
              Pair(_("Scheme"), _scheme(certificate.scheme)), Pair(_("Year"), str(certificate.year)),
              Pair(_("Period"), f"{certificate.period_from.isoformat()} – {certificate.period_to.isoformat()}"), Rule()]
    if lines_now is not None:
        lines += [Pair(period_label(period.scheme, period.period_start, period.period_end), _money(period.amount_fen))
                  for period in lines_now.periods]
        lines.append(Rule())
    url = verify_url(verify_code)
    lines += [Pair(_("Months"), str(certificate.months)), Pair(_("Total paid"), _money(certificate.total_fen)),
              Pair(_("Issued"), _time(certificate.issued_at)), Pair(_("Terminal"), certificate.terminal_code), Feed(),
              Text(_("Check it is genuine: scan the code, or open %(url)s", url=url), "center"), Qr(url), Text(verify_code, "center")]
    return Document(tuple(lines + [Feed(2)]))


def receipt_view(order, verify_code: str | None = None) -> dict:
    """What a receipt shows, for the page and the printer: the order (with its paid attempt and
    items, ``checkout.order_with_receipt``), its receipt, the items by insured person, the amount
    kept (what was paid less what is refunded as paid elsewhere) and the verification code."""
    return dict(order=order, receipt=order.receipt, groups=receipts.receipt_groups(order),
                kept_fen=order.total_fen - order.refund_due_fen, verify_code=verify_code)


def receipt_context(order_id: int) -> dict:
    """``receipt_view`` of an order by id. The verification code first: a receipt from before
    issue 9 gets its serial in a write, which would expire the order loaded after it."""
    verify_code = records.order_receipt_code(uow(), verify_key(), order_id)
    return receipt_view(checkout.order_with_receipt(uow().session, order_id), verify_code)


def _print(terminal_id: int, context: dict, make_document, **what) -> dict:
    """The page's ``context`` after its document went to the terminal's ESC/POS printer: the page
    then says whether it came out (``printed``) and does not print itself. A browser-printing
    terminal: ``context`` as it was, nothing made."""
    outcome = printing.print_on_terminal(uow(), terminal_id, make_document,
                                         timeout_seconds=current_app.config["PRINTER_TIMEOUT_SECONDS"], **what)
    if outcome is not None:
        context.update(auto_print=False, printed=outcome)
    return context


def print_receipt(terminal_id: int, context: dict, *, copy: bool) -> dict:
    """Print the receipt of ``context`` (``receipt_view``'s) where the terminal prints ESC/POS."""
    training = current_app.config.get("TRAINING_MODE", False)
    return _print(terminal_id, context, lambda: receipt_document(
        context["order"], context["receipt"], context["groups"], context["kept_fen"], context.get("verify_code"),
        reprint=copy, training=training), receipt_id=context["receipt"].id, copy=copy)


def print_certificate(terminal_id: int, context: dict) -> dict:
    training = current_app.config.get("TRAINING_MODE", False)
    certificate = context["certificate"]
    return _print(terminal_id, context, lambda: certificate_document(
        certificate, context["lines"], context["verify_code"], reprint=context["reprint"], training=training),
        certificate_id=certificate.id, copy=context["reprint"])
