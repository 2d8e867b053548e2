"""The operator's sweeps: the safety net for a kiosk that went away, a closer that died, a
notification that never came, money paid twice and sessions left behind.

``flask sweep`` runs every periodic job once (:func:`run_sweep`); ``flask sweep --every 30``
runs them in a loop (``make run`` starts one next to the web server).

How a sweep runs in production, and why
---------------------------------------
Cron (or a systemd timer) on every app host calls ``flask --app kiosk sweep`` each minute. Several
hosts share one PostgreSQL, so two sweeps may start at the same moment; the first line of defence
is a lock: :func:`run_sweep` takes ``pg_try_advisory_lock`` on a connection of its own, held for
the whole run, and a sweep that finds it taken does nothing and says so ("skipped"). The lock
belongs to the database session, so a sweep that crashes, is killed or loses its host releases
it (the server ends the session); there is no lease to expire and no stale row to clean up. On
SQLite (one host) the lock is ``flock`` on a file beside the database, dropped by the kernel when
the process dies. (A session lock needs the sweep's own server session: connect it directly or
through a pooler in session mode, never PgBouncer's transaction mode.)

The second line of defence is that no job relies on the lock for correctness: every use case
moves an order by compare-and-set on its status (``settlement.move``), a dead closer is taken
over only after its lease, and an automatic refund has one fixed request number per attempt. Two
sweeps that did run together (a lock lost with its connection mid-run) would each find the other's
work done; the lock saves the provider the duplicate questions and the log the noise.

Not chosen: a scheduler inside the app (APScheduler 3.x). Its SQLAlchemy job store must not be
shared between schedulers: the maintainer says so (agronholm/apscheduler#231, #129: no
distributed locking, in-process locks only), so every gunicorn worker and every host would run
each job. One scheduler process would need its own supervision and failover; cron on every host
plus the lock gives both, with nothing new to install or run.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from ..database import exclusive
from ..domain.clock import utcnow
from ..domain.orders import OrderStatus, Source
from ..models import PaymentAttempt, PaymentOrder
from ..payments.base import PaymentProvider
from .checkout import CLOSE_LEASE, PAID_WITH_OTHER, ask_provider, close, finish_close
from .refunds import follow_refunds, refund_what_is_due
from .uow import UnitOfWork
from .staff_refunds import follow_requests
from .otp import purge_old
from .visits import purge_idle

log = logging.getLogger(__name__)

# how long after closing an order its trade is still asked about: Alipay notifies for 25 h
LATE_PAYMENT_WINDOW = dt.timedelta(hours=25)
# the name of the lock that lets one sweep at a time run, across every host of one database
LOCK_NAME = "kiosk-sweep"


def take_over_close(uow: UnitOfWork, attempt_id: int, now: dt.datetime) -> bool:
    """Claim the close of an attempt whose closer died, by compare-and-set on its lease: the lease
    starts again from ``now``, so a second sweep (one whose lock was lost) finds it taken and
    leaves it, and the trade is cancelled once. False: someone else has it."""
    with uow:
        taken = uow.session.execute(update(PaymentAttempt).where(
            PaymentAttempt.id == attempt_id, PaymentAttempt.status == OrderStatus.CLOSING.value,
            PaymentAttempt.closing_at <= now - CLOSE_LEASE,
        ).values(closing_at=now).execution_options(synchronize_session=False)).rowcount == 1
        uow.commit()
    return taken


def reconcile(uow: UnitOfWork, provider: PaymentProvider, now: dt.datetime | None = None) -> int:
    """Follow every unfinished attempt of ``provider`` to its end.

    - PENDING: the QR codes of an order another attempt won are closed (their payment, if one
      slipped in, is recorded and given back); expired ones are closed; the others asked about.
    - CLOSING for longer than a closer can take: its closer died; finish the close.
    - Closed here while the provider's cancel failed (``trade_open``, up to 25 hours back):
      their QR may still be paid, so close the trade again (finding a payment if there is one).
      Only those: a trade the provider closed cannot be paid."""
    now = now or utcnow()
    session = uow.session
    rows = session.execute(select(PaymentAttempt.id, PaymentAttempt.status, PaymentAttempt.expires_at,
                                  PaymentOrder.paid_attempt_id.is_not(None))
                           .join(PaymentOrder, PaymentOrder.id == PaymentAttempt.order_id).where(
        PaymentAttempt.provider == provider.name,
        (PaymentAttempt.status == OrderStatus.PENDING.value)
        | ((PaymentAttempt.status == OrderStatus.CLOSING.value) & (PaymentAttempt.closing_at <= now - CLOSE_LEASE))
        | (PaymentAttempt.trade_open.is_(True) & (PaymentAttempt.finished_at >= now - LATE_PAYMENT_WINDOW)),
    ).order_by(PaymentAttempt.id)).all()
    session.rollback()  # no transaction stays open while the provider is asked
    for attempt_id, status, expires_at, order_paid in rows:
        try:
            if status == OrderStatus.PENDING.value:
                if order_paid:
                    close(uow, attempt_id, OrderStatus.CANCELLED, provider, Source.SWEEP_CLOSE, now, PAID_WITH_OTHER)
                elif now >= expires_at:
                    close(uow, attempt_id, OrderStatus.EXPIRED, provider, Source.SWEEP_CLOSE, now)
                else:
                    ask_provider(uow, attempt_id, provider, Source.RECONCILE, now)
            elif status == OrderStatus.CLOSING.value:
                if not take_over_close(uow, attempt_id, now):
                    continue  # another sweep took it over first
                finish_close(uow, attempt_id, provider, Source.SWEEP_CLOSE, now, "the closer did not finish: closed by the sweep")
            else:
                close(uow, attempt_id, OrderStatus(status), provider, Source.SWEEP_CLOSE, now)
        except Exception:  # noqa: BLE001 - one troubled attempt must not hide the payments of the others
            session.rollback()
            log.exception("reconcile: attempt %s left for the next sweep", attempt_id)
    return len(rows)


@dataclass
class SweepReport:
    """What one sweep did: ``skipped`` when another sweep held the lock (then nothing ran)."""

    skipped: bool = False
    done: dict[str, int] = field(default_factory=dict)  # job ("sandbox: orders followed", ...) -> count
    failed: list[str] = field(default_factory=list)  # jobs that raised (logged; the others still ran)

    def summary(self) -> str:
        if self.skipped:
            return "sweep skipped: another sweep is running (it holds the lock)"
        parts = [f"{scope}{': ' if scope else ''}{count} {what}" for (scope, _, what), count
                 in ((job.rpartition(": "), count) for job, count in self.done.items())]
        parts += [f"{job} FAILED (see the log)" for job in self.failed]
        return "sweep done: " + "; ".join(parts)


def sweep_jobs(uow: UnitOfWork, providers: Iterable[PaymentProvider], session_idle: dt.timedelta,
               now: dt.datetime | None = None) -> list[tuple[str, Callable[[], int]]]:
    """Every periodic job, in the order a sweep runs them: for each provider the orders, then the
    money paid twice (which the orders may just have found), then refunds left unfinished; then
    the sessions. Each job returns how many things it looked at or did."""
    jobs: list[tuple[str, Callable[[], int]]] = []
    for provider in providers:
        jobs += [
            (f"{provider.name}: unfinished payment attempts followed", lambda p=provider: reconcile(uow, p, now)),
            (f"{provider.name}: refunds of money paid twice asked for", lambda p=provider: refund_what_is_due(uow, p, now)),
            (f"{provider.name}: unfinished refunds followed", lambda p=provider: follow_refunds(uow, p, now)),
        ]
    jobs.append(("staff refund requests finished", lambda: follow_requests(uow, now)))
    jobs.append(("idle sessions destroyed", lambda: purge_idle(uow, session_idle, now)))
    jobs.append(("one-time codes older than a day deleted", lambda: purge_old(uow, now)))
    return jobs


def run_jobs(uow: UnitOfWork, providers: Iterable[PaymentProvider], session_idle: dt.timedelta,
             now: dt.datetime | None = None) -> SweepReport:
    """Run every job once, without the lock (:func:`run_sweep` takes it). A job that fails is
    logged and reported; the others still run."""
    report = SweepReport()
    for job, work in sweep_jobs(uow, providers, session_idle, now):
        try:
            report.done[job] = work()
        except Exception:  # noqa: BLE001 - one broken job (a provider down) must not stop the others
            uow.session.rollback()
            log.exception("sweep: %s failed; left for the next sweep", job)
            report.failed.append(job)
    return report


def run_sweep(uow: UnitOfWork, providers: Iterable[PaymentProvider], session_idle: dt.timedelta,
              now: dt.datetime | None = None) -> SweepReport:
    """One sweep, unless another is running anywhere on this database: then nothing, ``skipped``.
    The lock is released however the run ends (an exception, the process killed)."""
    with exclusive(uow.session.get_bind(), LOCK_NAME) as held:
        if not held:
            log.info("sweep skipped: another sweep holds the lock")
            return SweepReport(skipped=True)
        return run_jobs(uow, providers, session_idle, now)
