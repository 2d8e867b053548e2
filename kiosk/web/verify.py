"""/verify/<code>: anyone's phone checks a receipt or certificate (issue 9). A public page: it
shows only what the paper shows, masked (payer, scheme, period, amount, time), and for a code
that is altered, forged or unknown one and the same answer. The tag is checked before any read
(``services.records.verify``): a forged code costs no database work, and finding a genuine one
means guessing a 64-bit tag, so there is no per-address limit (behind the reverse proxy every
phone in a hall shares one address, and one busy minute would lock them all out)."""
from __future__ import annotations

from flask import Blueprint

from ..services import records
from . import printouts, render, uow, verify_key

bp = Blueprint("verify", __name__, url_prefix="/verify")


@bp.get("/<code>")
def show(code: str):
    found = records.verify(uow().session, verify_key(), code[:64])
    if isinstance(found, records.VerifiedReceipt):
        return render("verify/show.html", kind="receipt", **printouts.receipt_view(found.order))
    if isinstance(found, records.VerifiedCertificate):
        return render("verify/show.html", kind="certificate", certificate=found.certificate, changed=found.changed_since)
    return render("verify/show.html", status=404, kind=None)
