"""Demo data: one region with its rules and fifteen insured people, one for each case of
the journey, and a family of three; an employer in arrears. The README lists the ID numbers. Dates are relative to today so that
arrears and open payment windows exist whenever the demo is created."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select, update

from .domain.clock import local_today, utcnow
from .domain.idnumber import mask_id_number, parse_resident_id
from .domain.orders import OrderStatus, Source
from .models import ContributionHistory, Enrolment, PaymentAttempt, PaymentOrder, PaymentOrderItem, Person, Region
from .services.dues import due_lines
from .services.people import id_digest
from .services.rules import read_rule_files, store_rule_file
from .services.settlement import record_payment
from .services.uow import UnitOfWork
from .services.visits import terminal_id

RULES_FILE = Path(__file__).resolve().parent.parent / "config" / "rules" / "demo-region.json"

# (ID number as typed, name, category, [(scheme, months before this month it started, chosen base in fen)], paid already)
PEOPLE = [
    ("11010519900307013X", "张三", "standard", [("resident_medical", 30, None)], False),
    ("110105195811200248", "李小红", "minimum_living", [("resident_medical", 60, None)], False),
    ("11010519470615031X", "王大山", "extreme_poverty", [("resident_medical", 60, None)], False),
    ("110105198509120427", "赵敏", "standard", [("flexible_medical", 2, 500000)], False),
    ("110105197602030552", "陈建国", "standard", [("flexible_medical", 1, 600000), ("flexible_pension", 3, 600000)], False),
    ("110105199204180669", "刘芳", "standard", [("employee_medical", 40, None)], False),
    ("110105196807300726", "孙丽", "standard", [("resident_medical", 60, None)], True),
    ("110105198105120834", "吴刚", "standard", [("flexible_pension", 7, 400000)], False),
    ("110105199501010949", "欧阳娜娜", "standard", [("resident_medical", 12, None), ("employee_medical", 12, None)], False),
    ("110105196210081057", "郑凯", "standard", [], False),
    ("11010519880808127X", "周强", "standard", [("resident_medical", 24, None)], False),
    ("110105530101123", "钱永福", "standard", [("resident_medical", 120, None)], False),
    # a family (seed 003): the father pays for all three with one QR code; the grandmother has the
    # minimum living guarantee (a subsidy), the son is in flexible employment with arrears
    ("110105197803151510", "黄志强", "standard", [("resident_medical", 30, None)], False),
    ("110105195004212621", "黄秀兰", "minimum_living", [("resident_medical", 60, None)], False),
    ("110105200006181834", "黄子涵", "standard", [("flexible_medical", 2, 400000)], False),
]

# contribution months from before this system, by ID number: (scheme, months)
HISTORY = {
    "11010519900307013X": [("resident_medical", 36)],
    "110105197602030552": [("flexible_medical", 60), ("flexible_pension", 130)],  # 11 years short of 15: a top-up
    "110105199204180669": [("employee_medical", 60)],
    "110105198105120834": [("flexible_pension", 190)],  # past the 15-year minimum
}


# registered mobile numbers for one-time codes (the sandbox SMS gateway shows what it 'sent' at
# /sandbox/sms): everyone but 郑凯, who shows what a person without one is told
PHONES = {number: f"1380013{index:04d}" for index, (number, *_rest) in enumerate(PEOPLE, start=1) if number != "110105196210081057"}


# staff accounts for trying the counter and back office (README "Staff accounts"): made by
# `flask seed-demo` outside production only, with passwords everyone can read
DEMO_STAFF = [
    ("cashier", "收银员 李娜", "cashier", "cashier-demo-1"),
    ("supervisor", "主管 王强", "supervisor", "supervisor-demo-1"),
    ("admin", "管理员 陈静", "admin", "admin-demo-1"),
]


def seed_staff(uow: UnitOfWork) -> list[str]:
    """The demo staff accounts not made yet; returns the usernames it made."""
    from .services.staff import StaffError, create_staff

    made = []
    for username, name, role, password in DEMO_STAFF:
        try:
            create_staff(uow, username, name, role, password)
            made.append(username)
        except StaffError:
            pass  # made before (the username is taken)
    return made


# an employer with six months of employee medical insurance unpaid (seed 002): its arrears
# notice, an instalment agreement and its collection at the counter
DEMO_EMPLOYER = ("91110105MA01ABCD00", "北京演示商贸有限公司", "employee_medical", 6, 105_000)  # ¥1,050.00 a month


def _add_employer(session, region_id: int, today: dt.date) -> None:
    from .models import Employer, EmployerArrear

    code, name, scheme, months, principal = DEMO_EMPLOYER
    if session.scalar(select(Employer.id).where(Employer.code == code)) is not None:
        return
    arrears = []
    for back in range(months, 0, -1):
        period = _months_before(today, back)
        due = _months_before(today, back - 1).replace(day=15)  # the 15th of the month after
        arrears.append(EmployerArrear(scheme=scheme, period=period, principal_fen=principal, due_date=due))
    session.add(Employer(code=code, name=name, region_id=region_id, arrears=arrears))


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


# where the demo's person who paid already paid (an instance serving no terminal by setting has no other)
DEMO_TERMINAL = "DEMO-01"


def seed(uow: UnitOfWork, digest_key: str, terminal_code: str | None) -> bool:
    """Load the demo region's rule file (as `flask rules load` does: a changed file adds a rule
    version, the same file changes nothing) and create the demo people unless they are there
    already. Returns whether people were created."""
    terminal_code = terminal_code or DEMO_TERMINAL
    rule_file = read_rule_files([RULES_FILE])[0]
    today = local_today(utcnow())
    with uow:
        session = uow.session
        store_rule_file(session, rule_file)
        region = session.scalar(select(Region).where(Region.code == rule_file.region.code))
        if session.scalar(select(Person.id).where(Person.region_id == region.id).limit(1)) is not None:
            _add_employer(session, region.id, today)  # a demo database made before the employer came
            _add_phones(session, digest_key)  # ... or before phones were registered
            uow.commit()
            return False
        paid_orders, histories = [], []
        for number, name, category, enrolments, paid in PEOPLE:
            resident = parse_resident_id(number, today)
            person = Person(id_digest=id_digest(resident.number, digest_key), id_masked=mask_id_number(resident.number),
                            name=name, birth_date=resident.birth_date, category=category, region_id=region.id,
                            phone=PHONES.get(number))
            person.enrolments = [Enrolment(scheme=scheme, start_date=_months_before(today, months), base_fen=base)
                                 for scheme, months, base in enrolments]
            session.add(person)
            histories += [(person, scheme, months) for scheme, months in HISTORY.get(number, [])]
            if paid:
                session.flush()
                paid_orders.append(_counter_order(session, person, terminal_id(session, terminal_code, region.code), today))
        session.flush()
        session.add_all(ContributionHistory(person_id=person.id, scheme=scheme, months=months) for person, scheme, months in histories)
        _add_employer(session, region.id, today)
        uow.commit()
    for attempt_id, total in paid_orders:
        record_payment(uow, attempt_id, trade_no=f"DEMO-CASH-{attempt_id}", amount_fen=total, source=Source.STAFF)
    return True


def _add_phones(session, digest_key: str) -> None:
    today = local_today(utcnow())
    for number, phone in PHONES.items():
        digest = id_digest(parse_resident_id(number, today).number, digest_key)
        session.execute(update(Person).where(Person.id_digest == digest, Person.phone.is_(None)).values(phone=phone)
                        .execution_options(synchronize_session=False))


def _counter_order(session, person: Person, terminal: int, today: dt.date) -> tuple[int, int]:
    """A person who paid at the counter last week: their order's attempt, recorded as paid by the caller."""
    lines = [line for line in due_lines(session, person, today, terminal_id=terminal) if line.payable]
    now = utcnow()
    total = sum(line.amount_fen for line in lines)
    order = PaymentOrder(idempotency_key=f"demo-{person.id}", payer_id=person.id, terminal_id=terminal,
                         total_fen=total, expires_at=now, created_at=now,
                         items=[PaymentOrderItem(bill_id=line.bill.id, person_id=person.id, principal_fen=line.bill.principal_fen,
                                                 subsidy_fen=line.bill.subsidy_fen, late_fee_fen=line.late_fee_fen,
                                                 amount_fen=line.amount_fen) for line in lines])
    attempt = PaymentAttempt(order=order, provider="counter", out_trade_no=f"DEMO{person.id:06d}", status=OrderStatus.PENDING.value,
                             amount_fen=total, expires_at=now, created_at=now)
    session.add_all([order, attempt])
    session.flush()
    return attempt.id, total
