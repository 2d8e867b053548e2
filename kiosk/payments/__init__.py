"""Payment providers behind one interface (``base.PaymentProvider``)."""
from __future__ import annotations

from .base import PaymentProvider


def build_provider(name: str, config, engine_source) -> PaymentProvider:
    if name == "sandbox":
        from .sandbox import SandboxProvider

        return SandboxProvider(engine_source, config["SANDBOX_SIGNING_KEY"], config["SANDBOX_NOTIFY"])
    raise ValueError(f"unknown payment provider {name!r}")
