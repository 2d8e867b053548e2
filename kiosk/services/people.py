"""Finding an insured person by ID number without storing the number; their phone for codes."""
from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from ..domain.records import mask_phone
from ..extensions import db
from ..models import Person
from .staff import audit
from .uow import UnitOfWork


def id_digest(number: str, key: str) -> str:
    return hmac.new(key.encode(), number.encode(), hashlib.sha256).hexdigest()


def find_person(number: str, key: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.id_digest == id_digest(number, key)))


def set_phone(uow: UnitOfWork, person_id: int, phone: str | None, staff_id: int, terminal_code: str) -> None:
    """Register (or, with None, remove) the mobile number one-time codes go to, at a counter where
    the cashier has seen the citizen's ID card. Audited, the numbers masked."""
    with uow:
        person = uow.session.get(Person, person_id)
        before = mask_phone(person.phone) if person.phone else None
        person.phone = phone
        audit(uow.session, "person.phone", staff_id, terminal_code, before={"person_id": person_id, "phone": before},
              after={"person_id": person_id, "phone": mask_phone(phone) if phone else None})
        uow.commit()
