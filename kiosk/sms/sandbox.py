"""The sandbox SMS gateway: sends nothing, keeps each message in ``sandbox_sms`` for the developer
page (/sandbox/sms) and for tests. A gateway is a remote service: it writes in a session of its
own, never inside the caller's unit of work."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..database import remote_session, writing
from ..domain.clock import utcnow
from ..domain.otp import VALID_FOR
from ..models import SandboxSms as SandboxMessage


def code_text(code: str) -> str:
    """The message, as the template agreed with a real provider would word it."""
    minutes = int(VALID_FOR.total_seconds() // 60)
    return f"【社保自助】您的验证码为{code}，{minutes}分钟内有效。请勿告诉他人。"


class SandboxSms:
    name = "sandbox"

    def __init__(self, engine_source):
        self._engine_source = engine_source

    def _session(self) -> Session:
        return remote_session(self._engine_source(), "an SMS gateway")

    def send_code(self, phone: str, code: str) -> str:
        with self._session() as session, writing(), session.begin():
            message = SandboxMessage(phone=phone, text=code_text(code), sent_at=utcnow())
            session.add(message)
            session.flush()
            return f"SANDBOX-{message.id}"

    def recent(self, limit: int = 20, since: dt.datetime | None = None) -> list[SandboxMessage]:
        """The last messages 'sent', newest first (the developer page)."""
        with self._session() as session:
            query = select(SandboxMessage).order_by(SandboxMessage.id.desc()).limit(limit)
            if since is not None:
                query = query.where(SandboxMessage.sent_at >= since)
            return list(session.scalars(query))
