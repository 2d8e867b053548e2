"""WeChat Pay v3 Native, behind :class:`kiosk.payments.base.PaymentProvider`."""
from .provider import WechatPayProvider

__all__ = ["WechatPayProvider"]
