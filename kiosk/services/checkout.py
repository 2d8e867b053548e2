"""The QR payment of selected bills: making the order, following it, and closing it unpaid.

An order has one attempt (a provider trade and its QR code) per provider the terminal offers,
shown side by side; a new round of attempts after the QR codes expired. Each use case takes a
unit of work. Calls to a provider happen between units of work, never inside one: the order
and its attempts are committed before their trades are opened, and a close is claimed
(PENDING -> CLOSING, per attempt) before the provider is asked to cancel, so no other source
can record a payment that the cancel may be about to give back.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from ..domain.clock import local_today, to_local, utcnow
from ..domain.orders import OrderStatus, Source
from ..models import Bill, PaymentAttempt, PaymentEvent, PaymentOrder, PaymentOrderItem, Visit
from ..payments import notify_path
from ..payments.base import PaymentProvider, ProviderError, TradeState
from .dues import PersonDues, TakeOverRule, all_lines, person_dues
from .qrcodes import qr_svg
from .settlement import Recorded, end_unpaid, lock_order, log_event, mark_failed, move, record_payment, release_if_done
from .uow import UnitOfWork
from .visits import persons_of, token_digest, touch

log = logging.getLogger(__name__)

# a closer that has not finished its close after this long has died: the sweep takes over.
# Longer than any provider call may take (their timeouts are seconds).
CLOSE_LEASE = dt.timedelta(minutes=2)


class CheckoutError(Exception):
    """Why no order was made; ``reason`` picks the message shown to the person."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckoutSettings:
    ttl: dt.timedelta
    query_interval: dt.timedelta
    public_base_url: str
    subject: str
    # bills held hostage (``create_order``): how long a terminal holds a person's bills before
    # another order may take them over, and how many QR rounds it may make for one person in the window
    take_over_grace: dt.timedelta = dt.timedelta(seconds=20)
    # ... and for an order with a QR code of a provider that cannot show a scan (``shows_scans``)
    take_over_grace_unseen: dt.timedelta = dt.timedelta(seconds=60)
    unseen_providers: frozenset[str] = frozenset()
    order_window: dt.timedelta = dt.timedelta(minutes=10)
    orders_per_person: int = 5

    def notify_url(self, provider_name: str) -> str:
        return self.public_base_url.rstrip("/") + notify_path(provider_name)


def checkout_settings(config, subject: str, providers: Sequence[PaymentProvider] = ()) -> CheckoutSettings:
    """From configuration only: the notify URLs and the QR's URLs never come from a request's Host.
    ``providers``: the ones orders may have trades with (which of them cannot show a scan)."""
    base = config["PUBLIC_BASE_URL"].rstrip("/")
    return CheckoutSettings(
        ttl=dt.timedelta(seconds=config["ORDER_TTL_SECONDS"]),
        query_interval=dt.timedelta(seconds=config["PROVIDER_QUERY_INTERVAL_SECONDS"]),
        public_base_url=base + "/", subject=subject,
        take_over_grace=dt.timedelta(seconds=config["TAKE_OVER_GRACE_SECONDS"]),
        take_over_grace_unseen=dt.timedelta(seconds=config["TAKE_OVER_GRACE_UNSEEN_SECONDS"]),
        unseen_providers=frozenset(p.name for p in providers if not p.shows_scans),
        order_window=dt.timedelta(seconds=config["ORDER_WINDOW_SECONDS"]), orders_per_person=config["ORDERS_PER_PERSON"],
    )


Providers = Mapping[str, PaymentProvider]


def fresh(session: Session, order_id: int) -> PaymentOrder:
    """The order as the database has it now, with its attempts: ``populate_existing`` reaches the
    attempts' selectin load too, so attempts already in the session are overwritten, not kept."""
    return session.get(PaymentOrder, order_id, populate_existing=True)


def order_with_receipt(session: Session, order_id: int) -> PaymentOrder:
    """``fresh``, with the receipt, the items and their bills loaded in the same go (the receipt screen)."""
    return session.get(PaymentOrder, order_id, populate_existing=True, options=[
        joinedload(PaymentOrder.receipt), joinedload(PaymentOrder.payer),
        selectinload(PaymentOrder.items).options(joinedload(PaymentOrderItem.bill), joinedload(PaymentOrderItem.person))])


def fresh_attempt(session: Session, attempt_id: int) -> PaymentAttempt:
    return session.get(PaymentAttempt, attempt_id, populate_existing=True)


def new_checkout_key(session: Session, visit: Visit) -> str:
    """A fresh key each time the dues are shown: two taps on one screen share it."""
    visit.checkout_key = secrets.token_hex(16)
    return visit.checkout_key


def family_lines(session: Session, visit: Visit, today: dt.date, may_take: TakeOverRule | None = None) -> list[PersonDues]:
    """The lines of everyone the visit pays for, grouped by person, the payer's group first
    (new bills frozen). A person with nothing payable keeps their group (the screen says why)."""
    return [person_dues(session, person, today, may_take, visit.terminal_id, is_payer=position == 0)
            for position, person in enumerate(persons_of(visit))]


def present_family_dues(uow: UnitOfWork, visit_id: int, today: dt.date, settings: CheckoutSettings | None = None,
                        now: dt.datetime | None = None) -> tuple[list[PersonDues], str]:
    """The dues screen: each person's lines (new bills frozen) and a fresh checkout key, in one
    commit. With ``settings``, bills that may be taken over (``create_order``) are shown payable."""
    may_take = take_over_rule(settings, now or utcnow()) if settings is not None else None

    def work(session):
        visit = session.get(Visit, visit_id)
        return family_lines(session, visit, today, may_take), new_checkout_key(session, visit)

    # the screen shows what this transaction read and froze: no need to read it all again
    return uow.run(work, keep_loaded=True)


def present_dues(uow: UnitOfWork, visit_id: int, today: dt.date, settings: CheckoutSettings | None = None,
                 now: dt.datetime | None = None):
    """``present_family_dues`` with everyone's lines in one list."""
    groups, key = present_family_dues(uow, visit_id, today, settings, now)
    return all_lines(groups), key


def freeze_family_dues(uow: UnitOfWork, visit_id: int, today: dt.date, may_take: TakeOverRule | None = None) -> list:
    """Everyone's lines on the visit, their new bills committed (the total as items are ticked)."""
    return uow.run(lambda session: all_lines(family_lines(session, session.get(Visit, visit_id), today, may_take)))


def order_with_key(session: Session, key: str, payer_id: int) -> PaymentOrder | None:
    """The order an earlier tap with this checkout key made for this payer, if any."""
    order = session.scalar(select(PaymentOrder).where(PaymentOrder.idempotency_key == key))
    return order if order is not None and order.payer_id == payer_id else None


def create_order(uow: UnitOfWork, visit_id: int, bill_ids: list[int], key: str, providers: Sequence[PaymentProvider],
                 settings: CheckoutSettings, now: dt.datetime | None = None, staff_id: int | None = None) -> PaymentOrder:
    """The order for ``key``, with one attempt (a trade and its QR code) per provider the terminal
    offers: made once, whatever number of taps or racing requests ask for it.

    Bills held hostage. Anyone who knows an ID number could keep that person's bills locked by
    cancelling and ordering again every few seconds. So:

    - A new order takes over bills held by another order (any terminal's, this visit's stale
      one too) none of whose QR codes was scanned: a provider knows no trade until the buyer
      scans it (Alipay answers "trade not exist"; the sandbox answers ``TradeState.NOT_FOUND``).
      The other order's attempts are closed through the normal close path (their trades are
      cancelled at the provider, so the QR codes can no longer be paid; a payment that slipped
      in first is recorded, or given back, as any close does), then this order is made.
    - Not within the grace period (``take_over_grace``) of the terminal holding them, so that a
      citizen reaching for their phone is not robbed. The grace runs from that terminal's
      first order for the person in the window: ordering again does not start it afresh.
    - Never an order one of whose QR codes was scanned: its buyer may be paying right now. The
      person is told the items are being paid at another terminal. A provider that cannot say
      whether its code was scanned (WeChat Pay's native trade exists, unpaid, from its
      creation) gets a longer grace instead (``take_over_grace_unseen``): past it, its code is
      closed like an unscanned one. Closing is safe for the money whatever the buyer does: a
      payment made before the close is found by the close's query and recorded (the bills stay
      with that order), and a closed trade can no longer be paid.
    - One terminal makes at most ``orders_per_person`` rounds of QR codes for one person in
      ``order_window``. Counted per terminal: counted across terminals, anyone who knows the ID
      number could use up the person's orders and keep them from paying anywhere.

    ``staff_id``: the cashier showing the QR codes at a counter (the customer display shows them).

    Raises ``CheckoutError`` with the reason to show.
    """
    now = now or utcnow()
    if not providers:
        raise CheckoutError("no_provider")
    for _ in range(TAKE_OVER_ATTEMPTS):
        try:
            return _create_order(uow, visit_id, bill_ids, key, providers, settings, now, staff_id)
        except _Held as held:
            _take_over(uow, held.order_ids, {p.name: p for p in providers}, now)
    raise CheckoutError("held_elsewhere")  # taken over, and held again by a racing terminal


# a take-over, then one more look: a racing terminal that took the bills meanwhile keeps them
TAKE_OVER_ATTEMPTS = 2
TAKEN_OVER = "taken over by another terminal"


def was_taken_over(session: Session, order_id: int) -> bool:
    """Whether another terminal's order took this cancelled order's bills (its QR was never scanned)."""
    return session.scalar(select(PaymentEvent.id).where(
        PaymentEvent.order_id == order_id, PaymentEvent.kind == OrderStatus.CANCELLED.value, PaymentEvent.detail == TAKEN_OVER,
    ).limit(1)) is not None


class _Held(Exception):
    """The chosen bills are held by orders that may be taken over (``create_order``)."""

    def __init__(self, order_ids: list[int]):
        super().__init__(order_ids)
        self.order_ids = order_ids


def take_over_rule(settings: CheckoutSettings, now: dt.datetime) -> TakeOverRule:
    """Whether an order's bills may be taken over, as far as the database knows: every attempt
    of its round is pending (none paid, none being closed) and its terminal's grace for the
    persons is over. The providers have the last word (scanned?)."""

    def may_take(session: Session, order: PaymentOrder) -> bool:
        if order.status != OrderStatus.PENDING.value or order.paid_attempt_id is not None:
            return False
        if any(attempt.status == OrderStatus.CLOSING.value for attempt in order.current_attempts):
            return False  # being closed: the bills come free in a moment, or it was paid
        # the terminal's first order in the window for anyone this order is for, as payer or as an
        # item's insured person: a new payer with the same person added does not start it afresh
        persons = {order.payer_id, *(item.person_id for item in order.items)}
        first = session.scalar(select(func.min(PaymentOrder.created_at)).where(
            PaymentOrder.terminal_id == order.terminal_id, PaymentOrder.created_at >= now - settings.order_window,
            PaymentOrder.payer_id.in_(persons)
            | PaymentOrder.id.in_(select(PaymentOrderItem.order_id).where(PaymentOrderItem.person_id.in_(persons)))))
        held_since = min(first, order.created_at) if first is not None else order.created_at
        unseen = any(a.provider in settings.unseen_providers for a in order.current_attempts
                     if a.status == OrderStatus.PENDING.value)
        return now - held_since >= (settings.take_over_grace_unseen if unseen else settings.take_over_grace)

    return may_take


def _live_attempts(session: Session, order_ids: list[int]) -> list[tuple[int, str, str]]:
    """(attempt id, provider, out_trade_no) of the orders' pending attempts."""
    return [tuple(row) for row in session.execute(
        select(PaymentAttempt.id, PaymentAttempt.provider, PaymentAttempt.out_trade_no)
        .where(PaymentAttempt.order_id.in_(order_ids), PaymentAttempt.status == OrderStatus.PENDING.value)
        .order_by(PaymentAttempt.id)).all()]


def _take_over(uow: UnitOfWork, order_ids: list[int], providers: Providers, now: dt.datetime) -> None:
    """Close the orders holding the bills if none of their QR codes was scanned (outside any
    unit of work: the providers are asked). Raises ``CheckoutError`` if one may be being paid."""
    attempts = _live_attempts(uow.session, order_ids)
    uow.idle()
    for attempt_id, provider_name, out_trade_no in attempts:
        provider = providers.get(provider_name)
        if provider is None:
            raise CheckoutError("held_elsewhere")  # a provider this terminal cannot ask
        try:
            state = provider.query(out_trade_no).state
        except ProviderError as exc:
            log.warning("provider query failed for attempt %s: %s", attempt_id, exc)
            raise CheckoutError("held_elsewhere") from None
        unscanned = state is TradeState.NOT_FOUND or (state is TradeState.WAITING and not provider.shows_scans)
        if not unscanned:
            raise CheckoutError("held_elsewhere")  # scanned (or paid): the buyer may be paying right now
    for attempt_id, provider_name, _ in attempts:
        close(uow, attempt_id, OrderStatus.CANCELLED, providers[provider_name], Source.CANCEL, now, detail=TAKEN_OVER)


def _rounds_made(session: Session, person_ids: list[int], terminal_id: int, since: dt.datetime) -> int:
    """The most rounds of QR codes a terminal made since ``since`` for any one of ``person_ids``,
    as the payer or for one of their items (an order's first round and every new round after an
    expiry count alike). Counted for the insured persons too: otherwise a new payer each time,
    with the victim added as a family member, would escape the limit."""
    involved = union(
        select(PaymentOrderItem.order_id.label("order_id"), PaymentOrderItem.person_id.label("person_id"))
        .where(PaymentOrderItem.person_id.in_(person_ids)),
        select(PaymentOrder.id.label("order_id"), PaymentOrder.payer_id.label("person_id")).where(PaymentOrder.payer_id.in_(person_ids)),
    ).subquery()
    rounds = (select(involved.c.person_id, PaymentAttempt.order_id, PaymentAttempt.round_no)
              .join(PaymentAttempt, PaymentAttempt.order_id == involved.c.order_id)
              .join(PaymentOrder, PaymentOrder.id == PaymentAttempt.order_id)
              .where(PaymentOrder.terminal_id == terminal_id, PaymentAttempt.created_at > since).distinct().subquery())
    counts = session.scalars(select(func.count()).select_from(rounds).group_by(rounds.c.person_id))
    return max(counts, default=0)


def _create_order(uow: UnitOfWork, visit_id: int, bill_ids: list[int], key: str, providers: Sequence[PaymentProvider],
                  settings: CheckoutSettings, now: dt.datetime, staff_id: int | None = None) -> PaymentOrder:
    """One try at ``create_order``; raises ``_Held`` when bills must be taken over first."""
    session = uow.session
    try:
        with uow:
            visit = session.get(Visit, visit_id)
            existing = order_with_key(session, key, visit.person_id)
            if existing is not None:
                return existing
            order, made = _new_order(session, visit, bill_ids, key, providers, settings, now, staff_id)
            if not made:
                return order  # a racing tap's order, found on a second look
            session.flush()  # another terminal holding one of the bills fails here
            log_event(session, order.id, "created", Source.CHECKOUT, f"{len(order.items)} items, {order.total_fen} fen")
            visit.order_id = order_id = order.id
            uow.commit()
    except IntegrityError:
        # a racing tap with the same key won, or another terminal holds one of the bills
        with uow:
            existing = order_with_key(session, key, session.get(Visit, visit_id).person_id)
        if existing is not None:
            return existing
        raise CheckoutError("held_elsewhere") from None
    _open_trades(uow, order_id, {p.name: p for p in providers}, settings, now)
    return fresh(session, order_id)


def _new_attempts(order: PaymentOrder, providers: Sequence[PaymentProvider], round_no: int, expires_at: dt.datetime,
                  now: dt.datetime) -> list[PaymentAttempt]:
    return [PaymentAttempt(order=order, round_no=round_no, provider=provider.name, amount_fen=order.total_fen,
                           out_trade_no=f"K{now:%Y%m%d%H%M%S}{secrets.token_hex(6)}", status=OrderStatus.PENDING.value,
                           created_at=now, expires_at=expires_at)
            for provider in providers]


def _open_trades(uow: UnitOfWork, order_id: int, providers: Providers, settings: CheckoutSettings, now: dt.datetime) -> None:
    """Open the trades of the order's current round at their providers (outside any unit of work)
    and keep their QR codes. A provider that fails leaves its attempt FAILED: the others are shown."""
    session = uow.session
    order = fresh(session, order_id)
    round_ = [(a.id, a.provider, a.out_trade_no, a.amount_fen, a.expires_at) for a in order.current_attempts
              if a.status == OrderStatus.PENDING.value and a.qr_svg is None]
    uow.idle()
    for attempt_id, provider_name, out_trade_no, amount_fen, expires_at in round_:
        try:
            payload = providers[provider_name].precreate(
                out_trade_no=out_trade_no, amount_fen=amount_fen, subject=settings.subject, expires_at=expires_at,
                notify_url=settings.notify_url(provider_name), public_base_url=settings.public_base_url)
        except ProviderError as exc:
            mark_failed(uow, attempt_id, Source.CHECKOUT, f"precreate failed: {exc}", now)
            continue
        svg = qr_svg(payload)
        with uow:
            session.execute(update(PaymentAttempt).where(PaymentAttempt.id == attempt_id).values(qr_payload=payload, qr_svg=svg)
                            .execution_options(synchronize_session=False))
            uow.commit()


def retry_order(uow: UnitOfWork, visit_id: int, providers: Sequence[PaymentProvider], settings: CheckoutSettings,
                now: dt.datetime | None = None) -> PaymentOrder:
    """New QR codes for the bills of the visit's last order (expired, failed, or given back).

    The same day and with no payment kept, they are a new round of attempts of the same order,
    at the prices it was made with. Otherwise (a payment was kept and given back, or the day
    changed and late fees with it) a new order, priced again."""
    now = now or utcnow()
    if not providers:
        raise CheckoutError("no_provider")
    order_id = _new_round(uow, visit_id, providers, settings, now)
    if order_id is not None:
        _open_trades(uow, order_id, {p.name: p for p in providers}, settings, now)
        return fresh(uow.session, order_id)

    def work(session):
        visit = session.get(Visit, visit_id)
        return [item.bill_id for item in visit.order.items], new_checkout_key(session, visit)

    bill_ids, key = uow.run(work)
    return create_order(uow, visit_id, bill_ids, key, providers, settings, now)


def _new_round(uow: UnitOfWork, visit_id: int, providers: Sequence[PaymentProvider], settings: CheckoutSettings,
               now: dt.datetime) -> int | None:
    """A new round of attempts for the visit's order, its bills held again; None when the order
    cannot have one (see ``retry_order``). Raises ``CheckoutError`` when the bills are held
    elsewhere now, or the terminal made too many rounds for the person."""
    session = uow.session
    try:
        with uow:
            visit = session.get(Visit, visit_id)
            order = lock_order(session, visit.order_id)
            status = OrderStatus(order.status)
            if order.paid_attempt_id is not None or not status.closed_unpaid and status is not OrderStatus.REFUNDED:
                return None
            if to_local(order.created_at).date() != local_today(now):
                return None
            persons = list({order.payer_id, *(item.person_id for item in order.items)})
            if _rounds_made(session, persons, visit.terminal_id, now - settings.order_window) >= settings.orders_per_person:
                raise CheckoutError("too_many_orders")
            # held again, unless another order took them meanwhile (the unique index says so at the flush)
            session.execute(update(PaymentOrderItem).where(PaymentOrderItem.order_id == order.id).values(live=True)
                            .execution_options(synchronize_session=False))
            order.round_no += 1
            order.expires_at = now + settings.ttl
            order.last_queried_at = now  # see _new_order
            session.add_all(_new_attempts(order, providers, order.round_no, order.expires_at, now))
            session.flush()
            log_event(session, order.id, "new_round", Source.CHECKOUT, f"round {order.round_no}")
            uow.commit()
            return order.id
    except IntegrityError:
        raise CheckoutError("held_elsewhere") from None


def check_choice(session: Session, visit: Visit, bill_ids: list[int], key: str) -> list[int]:
    """The persons whose bills ``bill_ids`` are, the payer first; ``CheckoutError`` for a stale
    screen (another checkout key, a bill of nobody on the visit) or nothing chosen."""
    if not key or key != visit.checkout_key:
        raise CheckoutError("stale")
    if not bill_ids:
        raise CheckoutError("nothing_selected")
    persons = {person.id for person in persons_of(visit)}
    # only the bills of the persons on this visit: a bill id of anyone else (forged, or of a member
    # removed since the screen was drawn) is refused as the stale screen it comes from
    owners = dict(session.execute(select(Bill.id, Bill.person_id).where(Bill.id.in_(set(bill_ids)))).all())
    if any(owners.get(bill_id) not in persons for bill_id in bill_ids):
        raise CheckoutError("stale")
    # the payer and the persons whose bills are chosen (a member with nothing chosen does not count)
    return sorted({visit.person_id, *owners.values()})


def chosen_lines(session: Session, visit: Visit, bill_ids: list[int], now: dt.datetime,
                 may_take: TakeOverRule | None = None) -> list:
    """The visit's lines for ``bill_ids`` as they are now (None for a bill no longer due), each once."""
    lines = {line.bill.id: line for line in all_lines(family_lines(session, visit, local_today(now), may_take))}
    return [lines.get(bill_id) for bill_id in dict.fromkeys(bill_ids)]


def refusal_of(chosen: list) -> str | None:
    """Why the chosen lines cannot be paid now (``held_elsewhere``, ``not_payable``), or None."""
    if all(line is not None and line.payable for line in chosen):
        return None
    return "held_elsewhere" if any(line is not None and line.held_elsewhere for line in chosen) else "not_payable"


def new_order(visit: Visit, key: str, chosen: list, now: dt.datetime, expires_at: dt.datetime, **values) -> PaymentOrder:
    """An order for the chosen lines at the prices they have now (not added to the session)."""
    return PaymentOrder(
        idempotency_key=key, payer_id=visit.person_id, terminal_id=visit.terminal_id,
        total_fen=sum(line.amount_fen for line in chosen), expires_at=expires_at, created_at=now, round_no=1,
        items=[PaymentOrderItem(bill_id=line.bill.id, person_id=line.bill.person_id, principal_fen=line.bill.principal_fen,
                                subsidy_fen=line.bill.subsidy_fen, late_fee_fen=line.late_fee_fen, amount_fen=line.amount_fen)
               for line in chosen], **values)


def _new_order(session: Session, visit: Visit, bill_ids: list[int], key: str, providers: Sequence[PaymentProvider],
               settings: CheckoutSettings, now: dt.datetime, staff_id: int | None = None) -> tuple[PaymentOrder, bool]:
    """A new order (and True), or the one a racing tap with the same key made (and False)."""
    counted = check_choice(session, visit, bill_ids, key)
    if _rounds_made(session, counted, visit.terminal_id, now - settings.order_window) >= settings.orders_per_person:
        raise CheckoutError("too_many_orders")
    may_take = take_over_rule(settings, now)
    chosen = chosen_lines(session, visit, bill_ids, now, may_take)
    refusal = refusal_of(chosen)
    if refusal:
        # a racing tap with the same key may have made the order (and taken the bills) since we looked
        existing = order_with_key(session, key, visit.person_id)
        if existing is not None:
            return existing, False
        raise CheckoutError(refusal)
    # who holds them now: another terminal may have taken them over since the lines were read
    holders = session.scalars(
        select(PaymentOrder).join(PaymentOrderItem, PaymentOrderItem.order_id == PaymentOrder.id)
        .where(PaymentOrderItem.bill_id.in_([line.bill.id for line in chosen]), PaymentOrderItem.live.is_(True))
    ).unique().all()
    for holder in holders:
        if holder.idempotency_key == key:
            return holder, False  # a racing tap's order, never to be taken over
    if not all(may_take(session, holder) for holder in holders):
        raise CheckoutError("held_elsewhere")
    if holders:
        raise _Held(sorted(holder.id for holder in holders))  # the providers have the last word
    expires_at = now + settings.ttl
    # the trades are opened this moment and nobody can have scanned them yet: the providers are
    # first asked one query interval from now, like every time after (the surge benchmark found
    # a fifth of a journey's signed calls were these pointless first questions)
    order = new_order(visit, key, chosen, now, expires_at, last_queried_at=now, staff_id=staff_id)
    session.add(order)
    session.add_all(_new_attempts(order, providers, 1, expires_at, now))
    return order, True


@dataclass(frozen=True)
class PollState:
    """What the QR screen's poll needs to know about a visit and its order, from one read."""

    visit_id: int
    last_seen_at: dt.datetime
    has_person: bool
    order_id: int | None
    paid: bool
    pending: int  # attempts of the current round that can be paid
    closing: int  # ... and that a closer is closing
    shown: int  # pending attempts with a QR code
    expires_at: dt.datetime | None
    last_queried_at: dt.datetime | None

    def waiting(self, now: dt.datetime, query_interval: dt.timedelta, max_idle: dt.timedelta) -> bool:
        """The order waits on the QR screen and a full ``poll`` would do nothing now: the visit is
        alive, no attempt won, every pending QR code is shown, and a closer is at work or the
        round is before its deadline with the providers asked less than ``query_interval`` ago."""
        if now - self.last_seen_at > max_idle or not self.has_person or self.order_id is None or self.paid:
            return False
        if self.pending == 0:
            return self.closing > 0
        return (self.shown == self.pending and now < self.expires_at
                and self.last_queried_at is not None and now - self.last_queried_at < query_interval)


_current = (PaymentAttempt.order_id == PaymentOrder.id) & (PaymentAttempt.round_no == PaymentOrder.round_no)
_pending = PaymentAttempt.status == OrderStatus.PENDING.value

# built once: the poll runs every second at every kiosk on the QR screen
_POLL_STATE = (
    select(Visit.id, Visit.last_seen_at, Visit.person_id.is_not(None), PaymentOrder.id, PaymentOrder.paid_attempt_id.is_not(None),
           func.count(PaymentAttempt.id).filter(_pending),
           func.count(PaymentAttempt.id).filter(PaymentAttempt.status == OrderStatus.CLOSING.value),
           func.count(PaymentAttempt.id).filter(_pending & PaymentAttempt.qr_svg.is_not(None)),
           PaymentOrder.expires_at, PaymentOrder.last_queried_at)
    .outerjoin(PaymentOrder, PaymentOrder.id == Visit.order_id)
    .outerjoin(PaymentAttempt, _current)
    .where(Visit.token_digest == bindparam("digest"))
    .group_by(Visit.id, PaymentOrder.id)
)


def poll_state(session: Session, token: str) -> PollState | None:
    """The visit of ``token``, its order and the current round's attempts, in one indexed read
    (the visit by its token's digest, the order by primary key, its attempts by order) of only
    the columns the poll decides on; None for no such visit.

    One statement needs no transaction around it: called outside one, the read runs on its own
    (on PostgreSQL in autocommit, which saves the BEGIN and ROLLBACK round trips; SQLite keeps
    the transaction control of ``kiosk.database``) and leaves the session without a transaction."""
    own = not session.in_transaction()
    options = {"isolation_level": "AUTOCOMMIT"} if own and session.get_bind().dialect.name == "postgresql" else {}
    try:
        row = session.connection(execution_options=options).execute(_POLL_STATE, {"digest": token_digest(token)}).first()
    finally:
        if own:
            session.rollback()
    if row is None:
        return None
    visit_id, last_seen_at, has_person, order_id, paid, pending, closing, shown, expires_at, last_queried_at = row
    return PollState(visit_id, last_seen_at, bool(has_person), order_id, bool(paid), pending or 0, closing or 0, shown or 0,
                     expires_at, last_queried_at)


def quiet_poll(uow: UnitOfWork, token: str | None, query_interval: dt.timedelta, max_idle: dt.timedelta,
               now: dt.datetime | None = None) -> bool:
    """The QR screen's poll while nothing changes, which is nearly every poll: True when the
    visit's order is waiting (``PollState.waiting``), after one read and, at most every
    ``visits.TOUCH_EVERY``, one write of the visit's last-seen time. False: the caller does the
    full poll (load the visit, ``poll``), which expires, asks the providers or sees the change."""
    if not token:
        return False
    now = now or utcnow()
    state = poll_state(uow.session, token)
    if state is None or not state.waiting(now, query_interval, max_idle):
        return False
    # the QR screen has no idle timer: its polls tell the server that someone is still there
    touch(uow, state.visit_id, state.last_seen_at, now)
    return True


PAID_WITH_OTHER = "paid_with_other"


def poll(uow: UnitOfWork, order_id: int, providers: Providers, settings: CheckoutSettings,
         now: dt.datetime | None = None) -> PaymentOrder:
    """The QR screen's poll: expire the round at its deadline, and ask the providers every few
    seconds, so a payment whose notification never arrives is still found. Once an attempt won,
    the QR codes of the others are closed."""
    now = now or utcnow()
    session = uow.session
    order = fresh(session, order_id)
    if order.paid_attempt_id is not None:
        # the other QR codes are closed once; a paid order never gets a pending attempt again
        return close_others(uow, order_id, providers, Source.CANCEL, now) if _has_pending(order) else order
    # (id, provider) of each: an attempt's provider never changes, so no need to read it again below
    pending = [(a.id, a.provider) for a in order.current_attempts if a.status == OrderStatus.PENDING.value]
    if not pending:
        return order
    if now >= order.expires_at:
        close_order(uow, order_id, OrderStatus.EXPIRED, providers, Source.EXPIRY, now)
        return fresh(session, order_id)
    if order.last_queried_at is not None and now - order.last_queried_at < settings.query_interval:
        return order
    seen = order.last_queried_at
    with uow:
        # claim this query so that two pollers do not both ask the providers
        unchanged = PaymentOrder.last_queried_at.is_(None) if seen is None else PaymentOrder.last_queried_at == seen
        claimed = session.execute(
            update(PaymentOrder).where(PaymentOrder.id == order_id, unchanged, PaymentOrder.paid_attempt_id.is_(None))
            .values(last_queried_at=now).execution_options(synchronize_session=False)
        ).rowcount
        paid_elsewhere = bool(claimed) and _paid_by_another_order(session, order_id)
        uow.commit()
    if paid_elsewhere:
        # a late payment of an earlier QR settled these bills: do not let them be paid twice
        close_order(uow, order_id, OrderStatus.CANCELLED, providers, Source.CANCEL, now, detail="paid_elsewhere")
        return fresh(session, order_id)
    if claimed:
        for attempt_id, provider_name in pending:
            if provider_name in providers:
                ask_provider(uow, attempt_id, providers[provider_name], Source.POLL, now)
        order = fresh(session, order_id)
        if order.paid_attempt_id is not None and _has_pending(order):
            return close_others(uow, order_id, providers, Source.CANCEL, now)
        return order
    return fresh(session, order_id)


def _has_pending(order: PaymentOrder) -> bool:
    return any(attempt.status == OrderStatus.PENDING.value for attempt in order.attempts)


def paid_twice(order: PaymentOrder) -> list[PaymentAttempt]:
    """The order's payments other than the winning one (both QR codes were paid): each is, or
    is being, given back."""
    taken = (OrderStatus.PAID.value, OrderStatus.REFUNDED.value)
    return [a for a in order.attempts if a.id != order.paid_attempt_id and a.status in taken]


def _paid_by_another_order(session: Session, order_id: int) -> bool:
    bill_ids = select(PaymentOrderItem.bill_id).where(PaymentOrderItem.order_id == order_id)
    return session.scalar(select(PaymentOrderItem.id).where(
        PaymentOrderItem.bill_id.in_(bill_ids), PaymentOrderItem.settled.is_(True), PaymentOrderItem.order_id != order_id
    ).limit(1)) is not None


def ask_provider(uow: UnitOfWork, attempt_id: int, provider: PaymentProvider, source: Source,
                 now: dt.datetime) -> TradeState | None:
    """Ask the provider about a PENDING attempt and record what it says."""
    out_trade_no = uow.session.scalar(select(PaymentAttempt.out_trade_no).where(PaymentAttempt.id == attempt_id))
    uow.idle()
    try:
        status = provider.query(out_trade_no)
    except ProviderError as exc:
        log.warning("provider query failed for attempt %s: %s", attempt_id, exc)
        return None
    if status.state is TradeState.PAID:
        # a wrong amount is logged by record_payment; the attempt stays as it was for an operator
        record_payment(uow, attempt_id, trade_no=status.trade_no, amount_fen=status.amount_fen, source=source, now=now)
    elif status.state in (TradeState.CLOSED, TradeState.FAILED):
        mark_failed(uow, attempt_id, source, "closed at the provider", now)
    return status.state


def close_order(uow: UnitOfWork, order_id: int, target: OrderStatus, providers: Providers, source: Source,
                now: dt.datetime | None = None, detail: str = "") -> PaymentOrder:
    """Close every pending attempt of the order (the citizen's Cancel, the round's expiry, a
    take-over). Returns the order as it ends: PAID if one was paid meanwhile, REFUNDED if a
    cancel gave a payment back, ``target``, or as another source left it."""
    now = now or utcnow()
    for attempt_id, provider_name, _ in _live_attempts(uow.session, [order_id]):
        uow.idle()
        if provider_name in providers:
            close(uow, attempt_id, target, providers[provider_name], source, now, detail)
    return fresh(uow.session, order_id)


def close_others(uow: UnitOfWork, order_id: int, providers: Providers, source: Source, now: dt.datetime) -> PaymentOrder:
    """An attempt won: close the order's other QR codes (a payment that slipped in is recorded
    and given back). Returns the order as it ends (``close_order``)."""
    return close_order(uow, order_id, OrderStatus.CANCELLED, providers, source, now, detail=PAID_WITH_OTHER)


def close(uow: UnitOfWork, attempt_id: int, target: OrderStatus, provider: PaymentProvider, source: Source,
          now: dt.datetime | None = None, detail: str = "") -> PaymentAttempt:
    """Close an attempt unpaid (cancel, expiry, or the sweep closing a trade left open): claim it,
    ask the provider (it may have just been paid), then cancel the trade. Returns the attempt as
    it ends: PAID, REFUNDED, ``target``, or as another source left it when this one was too late."""
    now = now or utcnow()
    with uow:
        # an attempt that has ended is closed again only while its trade is still open: a sweep that
        # read it before another closer ended it (and closed the trade) must not close it twice
        claimed = move(uow.session, attempt_id, OrderStatus.CLOSING, source, closing_at=now, close_target=target.value,
                       only_if=(PaymentAttempt.status == OrderStatus.PENDING.value) | PaymentAttempt.trade_open.is_(True))
        uow.commit()
    if claimed:
        finish_close(uow, attempt_id, provider, source, now, detail)
    return fresh_attempt(uow.session, attempt_id)


def finish_close(uow: UnitOfWork, attempt_id: int, provider: PaymentProvider, source: Source, now: dt.datetime,
                 detail: str = "") -> None:
    """The rest of a close, by the closer that claimed it (or by the sweep, for a closer that died)."""
    attempt = fresh_attempt(uow.session, attempt_id)
    out_trade_no, target, order_id = attempt.out_trade_no, OrderStatus(attempt.close_target), attempt.order_id
    uow.idle()
    try:
        status = provider.query(out_trade_no)
    except ProviderError as exc:
        log.warning("provider query failed for attempt %s: %s", attempt_id, exc)
        status = None
    if status is not None and status.state is TradeState.PAID:
        recorded = record_payment(uow, attempt_id, trade_no=status.trade_no, amount_fen=status.amount_fen, source=source, now=now)
        if recorded is not Recorded.MISMATCH:
            return
        # paid, but not the attempt's amount (logged for an operator): never settled, and not kept
        # either; the cancel gives it back and the attempt ends refunded
    try:
        outcome = provider.cancel(out_trade_no)
    except ProviderError as exc:
        log.warning("provider cancel failed for attempt %s: %s", attempt_id, exc)
        outcome = None
    with uow:
        session = uow.session
        if outcome is not None and outcome.refunded:
            # the buyer paid between our query and the cancel, and the cancel gave it back
            if move(session, attempt_id, OrderStatus.REFUNDED, source, finished_at=now, trade_open=False, closing_at=None,
                    refund_due_fen=0):
                log_event(session, order_id, "refunded_at_provider", source, "the cancel gave back a payment made while closing",
                          attempt_id)
                release_if_done(session, order_id)
        else:
            # a trade the provider did not close stays payable: the sweep keeps asking about it
            note = detail or ("" if outcome is not None else "the provider's cancel failed")
            end_unpaid(session, attempt_id, target, source, note, now, trade_open=outcome is None)
        uow.commit()
