"""Synthetic citizens for ``bench/surge.py``: many valid ID numbers, each with dues of its own,
so that the kiosks of a surge never reach for the same bills.

Bench only: the numbers are made up (region 110105, birth dates from 1960 on, sequence codes
900 to 999, which no demo person has) but pass python-stdnum's ``cn.ric`` checks, the same the
kiosk applies. The same index always gives the same number, so the seeder and the load
generator agree without passing a list of numbers around. Never print or log them.
"""
from __future__ import annotations

import datetime as dt

from stdnum.cn import ric

REGION = "110105"
FIRST_BIRTH_DATE = dt.date(1960, 1, 1)
PER_DAY = 100  # sequence codes 900..999 for each birth date
# what each synthetic person owes: the demo's flexible-employment medical case (two overdue
# months and this one, three bills), chosen base 5,000 yuan
SCHEME, MONTHS_BEHIND, BASE_FEN = "flexible_medical", 2, 500000


def id_number(index: int) -> str:
    """The ``index``-th synthetic ID number (18 characters, valid checksum)."""
    if index < 0:
        raise ValueError("index must be 0 or more")
    birth = FIRST_BIRTH_DATE + dt.timedelta(days=index // PER_DAY)
    body = f"{REGION}{birth:%Y%m%d}{900 + index % PER_DAY:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum wants a placeholder where the digit goes


def seed_people(uow, digest_key: str, terminal_code: str, count: int) -> int:
    """The demo region, rules and people (``kiosk.demo.seed``), then ``count`` synthetic people
    in that region, each enrolled as ``SCHEME`` so that they owe three bills. Returns how many
    synthetic people were added (0 if they are there already)."""
    from sqlalchemy import func, select

    from kiosk.demo import _months_before, seed
    from kiosk.domain.clock import local_today, utcnow
    from kiosk.domain.idnumber import mask_id_number, parse_resident_id
    from kiosk.models import Enrolment, Person, Region
    from kiosk.services.people import id_digest

    seed(uow, digest_key, terminal_code)
    today = local_today(utcnow())
    start = _months_before(today, MONTHS_BEHIND)
    with uow:
        session = uow.session
        region_id = session.scalar(select(Region.id).where(Region.code == REGION))
        first = id_number(0)
        if session.scalar(select(func.count()).select_from(Person).where(
                Person.id_digest == id_digest(parse_resident_id(first, today).number, digest_key))):
            return 0
        for index in range(count):
            resident = parse_resident_id(id_number(index), today)  # the kiosk's own checks
            person = Person(id_digest=id_digest(resident.number, digest_key), id_masked=mask_id_number(resident.number),
                            name=f"压测{index:05d}", birth_date=resident.birth_date, category="standard", region_id=region_id)
            person.enrolments = [Enrolment(scheme=SCHEME, start_date=start, base_fen=BASE_FEN)]
            session.add(person)
            if index % 1000 == 999:
                session.flush()
        uow.commit()
    return count
