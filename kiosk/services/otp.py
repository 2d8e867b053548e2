"""One-time codes by SMS, and the ID-card reader: how a citizen at a kiosk proves who they are
before their payment records are shown (rules in ``domain.otp``). The proof is kept on the
visit (``proven_by``), so it ends with it and with any change of person."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import delete, select, update

from ..domain import otp
from ..domain.clock import utcnow
from ..domain.records import names_match
from ..models import OtpChallenge, Person, Visit
from ..sms.base import SmsError, SmsGateway, SmsThrottled, SmsUncertain
from .uow import UnitOfWork

log = logging.getLogger(__name__)

# what a code's hash is keyed with: derived from the app's secret key for this one purpose
OTP_PURPOSE = b"kiosk one-time codes"


def otp_secret(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), OTP_PURPOSE, hashlib.sha256).digest()


class Sent(str, Enum):
    SENT = "sent"
    NO_PHONE = "no_phone"  # nobody registered a phone for this person
    LIMITED = "limited"  # our limits per person or terminal: ``until`` says when
    THROTTLED = "throttled"  # the SMS provider's flow control
    FAILED = "failed"  # the gateway did not take it
    OFF = "off"  # no SMS gateway in this installation


@dataclass(frozen=True)
class SendOutcome:
    result: Sent
    until: dt.datetime | None = None


def send_code(uow: UnitOfWork, gateway: SmsGateway | None, secret: bytes, *, visit_id: int, terminal_id: int,
              now: dt.datetime | None = None, make_code=otp.new_code) -> SendOutcome:
    """Send a new code to the visit's person. The challenge is written (and counted against the
    limits) before the message goes out, and deleted again if the gateway refuses it; the
    gateway is called outside any transaction."""
    now = now or utcnow()
    if gateway is None:
        return SendOutcome(Sent.OFF)
    with uow:
        session = uow.session
        person_id, phone = session.execute(select(Visit.person_id, Person.phone).join(Person, Person.id == Visit.person_id)
                                           .where(Visit.id == visit_id)).one()
        # one sender at a time per person: the count below and the insert are one step (on SQLite
        # BEGIN IMMEDIATE already serialises writers; FOR UPDATE is for PostgreSQL)
        session.execute(select(Person.id).where(Person.id == person_id).with_for_update())
        if not phone:
            return SendOutcome(Sent.NO_PHONE)
        since = now - max(otp.PER_PERSON[1], otp.PER_TERMINAL[1])
        to_person = list(session.scalars(select(OtpChallenge.sent_at).where(OtpChallenge.person_id == person_id,
                                                                             OtpChallenge.sent_at > since)))
        from_terminal = list(session.scalars(select(OtpChallenge.sent_at).where(OtpChallenge.terminal_id == terminal_id,
                                                                                 OtpChallenge.sent_at > since)))
        until = otp.may_send(to_person, from_terminal, now)
        if until is not None:
            return SendOutcome(Sent.LIMITED, until)
        challenge = OtpChallenge(person_id=person_id, terminal_id=terminal_id, visit_id=visit_id, sent_at=now)
        session.add(challenge)
        session.flush()
        code = make_code()
        challenge.code_hash = otp.code_hash(secret, challenge.id, code)
        challenge_id = challenge.id
        uow.commit()
    uow.idle()  # the gateway is a remote service: nothing of ours stays open while it answers
    try:
        gateway.send_code(phone, code)
    except SmsUncertain as error:
        # perhaps sent: the code stands (and counts); the code screen offers a new one if none comes
        log.warning("one-time code perhaps not sent by %s for challenge %s: %s", gateway.name, challenge_id, error.reason)
    except SmsError as error:
        # the reason is the provider's code and words, never the number or the code (kiosk/sms/base.py)
        log.warning("one-time code not sent by %s for challenge %s: %s", gateway.name, challenge_id, error.reason)
        with uow:
            uow.session.execute(delete(OtpChallenge).where(OtpChallenge.id == challenge_id))
            uow.commit()
        return SendOutcome(Sent.THROTTLED if isinstance(error, SmsThrottled) else Sent.FAILED)
    with uow:
        # the visit's earlier codes are spent once this one is out: only the newest counts
        uow.session.execute(update(OtpChallenge).where(OtpChallenge.visit_id == visit_id, OtpChallenge.id != challenge_id,
                                                       OtpChallenge.used_at.is_(None))
                            .values(tries=otp.MAX_TRIES).execution_options(synchronize_session=False))
        uow.commit()
    return SendOutcome(Sent.SENT)


@dataclass(frozen=True)
class CheckOutcome:
    verdict: otp.Verdict
    tries_left: int = 0


def pending_challenge(session, visit_id: int) -> OtpChallenge | None:
    """The visit's newest code, if one was sent to the person the visit is for now: a code sent
    for someone else proves nothing (``visits.set_person`` also spends a visit's codes)."""
    return session.scalar(select(OtpChallenge).join(Visit, Visit.id == OtpChallenge.visit_id)
                          .where(OtpChallenge.visit_id == visit_id, OtpChallenge.person_id == Visit.person_id)
                          .order_by(OtpChallenge.id.desc()).limit(1))


def check_code(uow: UnitOfWork, secret: bytes, *, visit_id: int, typed: str, now: dt.datetime | None = None) -> CheckOutcome:
    """Judge a typed code against the visit's newest challenge. The try is taken by compare-and-set
    on ``tries``, so two racing guesses cannot both be the fifth: the one that loses the race is
    judged again on what the winner left. The right code marks the challenge used and the visit
    proven, once."""
    now = now or utcnow()
    with uow:
        session = uow.session
        for _ in range(otp.MAX_TRIES + 1):
            challenge = pending_challenge(session, visit_id)
            if challenge is None:
                return CheckOutcome(otp.Verdict.SPENT)
            seen = otp.Challenge(challenge.id, challenge.code_hash, challenge.sent_at, challenge.tries, challenge.used_at is not None)
            verdict = otp.judge(secret, seen, typed, now)
            spent_before = seen.used or seen.tries >= otp.MAX_TRIES
            if verdict in (otp.Verdict.MALFORMED, otp.Verdict.EXPIRED) or spent_before:
                return CheckOutcome(verdict, max(0, otp.MAX_TRIES - seen.tries))
            # a wrong code takes a try (the last wrong one too: SPENT then says no try is left)
            took = session.execute(update(OtpChallenge).where(OtpChallenge.id == seen.id, OtpChallenge.tries == seen.tries,
                                                              OtpChallenge.used_at.is_(None))
                                   .values(tries=seen.tries + 1, used_at=now if verdict is otp.Verdict.OK else None)
                                   .execution_options(synchronize_session=False)).rowcount
            if took:
                break
            session.expire_all()  # another guess took this try first
        else:
            return CheckOutcome(otp.Verdict.SPENT)
        if verdict is otp.Verdict.OK:
            _prove(session, visit_id, "sms")
        uow.commit()
    return CheckOutcome(verdict, max(0, otp.MAX_TRIES - seen.tries - 1))


def prove_by_card(uow: UnitOfWork, *, visit_id: int, name_read: str) -> bool:
    """The ID-card reader typed the number (which identified the visit's person) and the name:
    the name must be the person's. Returns whether the visit is now proven."""
    with uow:
        session = uow.session
        name = session.scalar(select(Person.name).join(Visit, Visit.person_id == Person.id).where(Visit.id == visit_id))
        if name is None or not names_match(name_read, name):
            return False
        _prove(session, visit_id, "card")
        uow.commit()
    return True


def _prove(session, visit_id: int, how: str) -> None:
    session.execute(update(Visit).where(Visit.id == visit_id).values(proven_by=how).execution_options(synchronize_session=False))


def purge_old(uow: UnitOfWork, now: dt.datetime | None = None) -> int:
    """Challenges older than a day count against no limit any more: delete them (the sweep)."""
    now = now or utcnow()
    with uow:
        count = uow.session.execute(delete(OtpChallenge).where(OtpChallenge.sent_at < now - dt.timedelta(days=1))
                                    .execution_options(synchronize_session=False)).rowcount
        uow.commit()
    return count
