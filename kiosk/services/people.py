"""Finding an insured person by ID number without storing the number."""
from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from ..extensions import db
from ..models import Person


def id_digest(number: str, key: str) -> str:
    return hmac.new(key.encode(), number.encode(), hashlib.sha256).hexdigest()


def find_person(number: str, key: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.id_digest == id_digest(number, key)))
