"""The simulator's keys and identities, and the RSA helpers both gateways sign with.

``ensure_keys(folder)`` writes, once, every key the simulator and the app's adapters need to
talk to each other as they would to Alipay and WeChat Pay; files that exist are kept, so it
is safe to run on every ``make db``. No key here is ever accepted by production (they are
not Alipay's or WeChat Pay's, and production's gateways are the real ones).
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# the simulator's made-up identities (the shapes of the real ones)
ALIPAY_APP_ID = "2021000000000001"
WECHAT_MCHID = "1900000109"
WECHAT_APPID = "wxd678efh567hg6787"
WECHAT_CERT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD00000001"
WECHAT_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026112200000001"

# file names in the keys folder: the app reads the first of each pair of halves, the simulator the other
FILES = {
    "alipay_app_private": "alipay_app_private.pem",  # the app's (PKCS#1, as Alipay's key tool gives it)
    "alipay_app_public": "alipay_app_public.pem",  # uploaded to "Alipay": the simulator checks requests with it
    "alipay_private": "alipay_private.pem",  # "Alipay's": the simulator signs answers and notifications
    "alipay_public": "alipay_public.pem",  # what the open platform shows the app
    "wechat_merchant_private": "wechat_apiclient_key.pem",  # the merchant's (PKCS#8, as WeChat hands it out)
    "wechat_merchant_public": "wechat_apiclient_public.pem",  # the simulator checks requests with it
    "wechat_platform_private": "wechat_platform_private.pem",  # "WeChat Pay's": signs answers and callbacks
    "wechat_platform_public": "wechat_pub_key.pem",  # the WeChat Pay public key the app verifies with
    "wechat_apiv3_key": "wechat_apiv3_key",  # 32 characters, shared
}


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#1, the form Alipay's key tool hands out."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def pkcs8_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8, the form WeChat Pay hands out (apiclient_key.pem)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_private(text: str) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(text.encode(), password=None)


def load_public(text: str):
    return serialization.load_pem_public_key(text.encode())


def rsa_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    """SHA256withRSA, base64: Alipay's RSA2 and WeChat Pay's WECHATPAY2-SHA256-RSA2048 alike."""
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key, text: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), text.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _write(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)


def paths(folder: str | os.PathLike) -> dict[str, Path]:
    return {name: Path(folder) / file for name, file in FILES.items()}


def ensure_keys(folder: str | os.PathLike) -> list[str]:
    """Write the keys that are missing (a pair missing either half is made anew); returns the
    names of the files written, empty when everything was there."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = paths(folder)
    written: list[str] = []
    pairs = [("alipay_app_private", "alipay_app_public", private_pem), ("alipay_private", "alipay_public", private_pem),
             ("wechat_merchant_private", "wechat_merchant_public", pkcs8_pem),
             ("wechat_platform_private", "wechat_platform_public", pkcs8_pem)]
    for private, public, form in pairs:
        if files[private].exists() and files[public].exists():
            continue
        key = new_key()
        _write(files[private], form(key))
        _write(files[public], public_pem(key))
        written += [FILES[private], FILES[public]]
    if not files["wechat_apiv3_key"].exists():
        _write(files["wechat_apiv3_key"], secrets.token_hex(16) + "\n")  # 32 characters
        written.append(FILES["wechat_apiv3_key"])
    return written


def read(folder: str | os.PathLike) -> dict[str, str]:
    return {name: path.read_text() for name, path in paths(folder).items()}
