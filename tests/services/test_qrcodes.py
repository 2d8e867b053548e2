"""The QR code on the screen is the code of its payload: every module the library computes for
it, dark where it is dark, light where it is light, nothing else drawn."""
from __future__ import annotations

import re

import pytest
import qrcode

from kiosk.services.qrcodes import BORDER, qr_svg


def drawn_modules(svg: str) -> tuple[int, set[tuple[int, int]]]:
    """The size of the drawing and the modules its rectangles cover (each run: M x,y h w v1 h-w z)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    path = re.search(r' d="([^"]*)"', svg).group(1)
    dark: set[tuple[int, int]] = set()
    for x, y, width, back in re.findall(r"M(\d+),(\d+)h(\d+)v1h-(\d+)z", path):
        assert width == back
        dark |= {(int(x) + i, int(y)) for i in range(int(width))}
    assert re.sub(r"M\d+,\d+h\d+v1h-\d+z", "", path) == ""  # nothing but those rectangles
    return size, dark


@pytest.mark.parametrize("payload", [
    "https://qr.alipay.com/bax08431pdvzgtyyqg3j5591",
    "weixin://wxpay/bizpayurl?pr=Xx8a9Bc",
    "http://127.0.0.1:5000/simulator/wechat/pay/" + "A" * 24,
])
def test_the_drawing_is_exactly_the_codes_modules(payload):
    reference = qrcode.QRCode(border=BORDER, error_correction=qrcode.constants.ERROR_CORRECT_M)
    reference.add_data(payload)
    reference.make(fit=True)
    matrix = reference.get_matrix()
    size, dark = drawn_modules(qr_svg(payload))
    assert size == len(matrix)
    assert dark == {(x, y) for y, row in enumerate(matrix) for x, cell in enumerate(row) if cell}
    # the quiet zone is light all round, as scanners need
    assert not any(x < BORDER or y < BORDER or x >= size - BORDER or y >= size - BORDER for x, y in dark)
