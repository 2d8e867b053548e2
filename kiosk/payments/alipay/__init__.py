"""Alipay face-to-face (当面付) behind :class:`kiosk.payments.base.PaymentProvider`."""
from .provider import AlipayProvider, fen_of_yuan, yuan_of_fen

__all__ = ["AlipayProvider", "fen_of_yuan", "yuan_of_fen"]
