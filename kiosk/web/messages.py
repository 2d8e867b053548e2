"""Every sentence the web layer shows for a domain value, translatable, in one place."""
from flask_babel import lazy_gettext as _l

from ..domain.idnumber import IdProblem
from ..domain.otp import Verdict
from ..domain.premiums import Category, Scheme
from ..services.otp import Sent

ID_PROBLEMS = {
    IdProblem.EMPTY: _l("Please enter your ID number."),
    IdProblem.CHARACTERS: _l("An ID number has only digits; X may only be the last of 18 characters."),
    IdProblem.LENGTH: _l("An ID number has 18 characters (or 15 for an old card). Please check the number."),
    IdProblem.TOO_LONG: _l("This is longer than an ID number, which has 18 characters. Please clear the field and enter "
                           "the number again."),
    IdProblem.CHECKSUM: _l("The last character does not match the rest of the number. Please check each digit."),
    IdProblem.DATE: _l("The date of birth in this number is not a real date. Please check it."),
    IdProblem.FUTURE: _l("The date of birth in this number is in the future."),
    IdProblem.REGION: _l("The first six digits are not a known region code."),
}
PERSON_NOT_FOUND = _l("No insured person has this ID number here. Please check it, or ask at the counter.")
LOOK_UPS_LIMITED = _l("Too many ID numbers were tried here. Please wait until %(time)s and try again, "
                      "or ask at the counter for help.")

CHECKOUT_ERRORS = {
    "nothing_selected": _l("Please choose at least one item to pay."),
    "not_payable": _l("Something changed on this list. Please look at it again."),
    "held_elsewhere": _l("This item is being paid at another terminal right now. Please try again in a few minutes."),
    "stale": _l("This screen was out of date; here is the current list."),
    "too_many_orders": _l("Too many payment codes were made for this person at this terminal. Please wait a few minutes "
                          "and try again, or ask at the counter."),
}

FAMILY_ERRORS = {
    "is_payer": _l("This is your own ID number: your items are on the list already. Please enter the family member's number."),
    "already_added": _l("This person is on the list already."),
    "too_many": _l("One payment covers at most six persons. Please pay for this list first, then start again for the others."),
}

SCHEMES = {
    Scheme.RESIDENT_MEDICAL: _l("Urban and rural resident medical insurance"),
    Scheme.FLEXIBLE_MEDICAL: _l("Medical insurance (flexible employment)"),
    Scheme.FLEXIBLE_PENSION: _l("Basic pension (flexible employment)"),
    Scheme.EMPLOYEE_MEDICAL: _l("Employee medical insurance"),
}

PROVIDERS = {
    "sandbox": _l("Sandbox (test)"),
    "alipay": _l("Alipay"),
    "wechat": _l("WeChat Pay"),
    "counter": _l("Counter"),
    "cash": _l("Cash"),
    "pos_card": _l("Bank card (POS)"),
    "ss_card": _l("Social security card"),
    "instalment_cash": _l("Employer instalment, cash"),
    "instalment_pos_card": _l("Employer instalment, bank card"),
}

CATEGORIES = {
    Category.STANDARD: "",
    Category.MINIMUM_LIVING: _l("Minimum living guarantee: the government pays part of your premium"),
    Category.EXTREME_POVERTY: _l("Extreme poverty support: the government pays your premium"),
    Category.ORPHAN: _l("Orphan support: the government pays your premium"),
}

# what a cashier typed that cannot be taken (``domain.counter.CounterProblem``), on its field
COUNTER_PROBLEMS = {
    "short": _l("Less cash was given than is due: enter the amount handed over, at least the total."),
    "tendered": _l("Enter the cash handed over."),
    "amount": _l("Enter an amount in yuan, such as 500 or 463.50."),
    "reference": _l("Enter the reference on the POS slip: 6 to 32 letters or digits."),
    "card": _l("Enter the social security card's number: 9 to 20 letters or digits."),
    "float": _l("Enter an amount of more than 0."),
    "method": _l("Choose how the citizen pays."),
}

# the ways to pay at a counter, in the order the cashier is offered them
COUNTER_METHODS = {method: PROVIDERS[method] for method in ("cash", "pos_card", "ss_card")}

# why a refund or void cannot be asked for or decided (``domain.refunds.RefundRuleBroken``)
REFUND_RULES = {
    "own": _l("You asked for this refund yourself: another supervisor must approve it."),
    "role": _l("Only a supervisor may approve or reject a refund."),
    "reason": _l("Please give the reason for the refund."),
    "amount": _l("Enter an amount of more than 0."),
    "too_much": _l("That is more than can still be refunded of this payment."),
    "void_day": _l("A payment can be voided only on the day it was taken. Ask for a refund instead."),
    "void_closed": _l("The day of this payment is closed, and a closed day does not change. Ask for a refund instead: it goes into today."),
    "void_partial": _l("A void gives back the whole payment, before any refund. Ask for a refund of part of it instead."),
    "not_paid": _l("This payment has nothing left to refund."),
    "open": _l("A refund of this payment is already waiting for approval."),
    "decided": _l("Someone decided on this request already."),
    "drawer": _l("The counter's drawer does not hold enough cash to give this back."),
    "not_found": _l("No payment has this receipt number."),
    "kind": _l("Choose a refund or a void."),
    "at_counter": _l("Ask for a refund at a counter: the cash of a counter payment comes out of its drawer."),
}

REQUEST_KINDS = {"refund": _l("Refund"), "void": _l("Void")}
REQUEST_STATES = {
    "requested": _l("Waiting for approval"),
    "rejected": _l("Rejected"),
    "approved": _l("Approved, being refunded"),
    "done": _l("Refunded"),
    "failed": _l("Refund failed"),
}

ENROL_TOO_MANY = _l("Too many codes were tried from here. Please wait a few minutes and type the code again.")
ENROL_REFUSED = _l("This code does not work: it is wrong, used already or out of date. Ask an administrator for a new one.")
TERMINAL_ERRORS = {
    "code_taken": _l("A terminal has this code already."),
    "no_region": _l("No region has this code: load its rule file first (flask rules load)."),
    "empty": _l("Please give the terminal a code."),
    "kind": _l("Choose what kind of terminal it is."),
    "print_mode": _l("Choose how the terminal prints."),
    "printer_url": _l("An ESC/POS printer's address is tcp://host:9100 (network) or usb://04b8:0202 (USB, vendor and product id)."),
    "printer_encoding": _l("Choose the encoding the printer reads Chinese in: GB18030 or GBK."),
    "unknown": _l("There is no such terminal."),
}
PRINT_MODES = {"browser": _l("Browser (the page prints itself)"), "escpos": _l("ESC/POS thermal printer")}
TERMINAL_KINDS = {
    "bureau_kiosk": _l("Kiosk, social security bureau"),
    "bank_kiosk": _l("Kiosk, bank lobby"),
    "counter": _l("Counter"),
}
PRINTER_STATUSES = {
    "ok": _l("Printer ready"),
    "paper_low": _l("Paper low"),
    "paper_out": _l("Out of paper"),
    "offline": _l("Printer offline"),
    "cover_open": _l("Printer cover open"),
    "unknown": _l("Printer not reported"),
}

DAY_ERRORS = {
    "closed": _l("This day is closed already: a closed day does not change. Corrections go into the next day."),
    "count": _l("Enter the cash counted in every counter's drawer (0 for an empty drawer)."),
}

AUDIT_BAD_DATE = _l("Dates are written as 2026-12-01.")

AGREEMENT_KINDS = {
    "employer": _l("The employer itself"),
    "merger": _l("Merger: the merging party"),
    "split": _l("Split: each separated party, for its share"),
    "bankruptcy": _l("Bankruptcy: the liquidation group"),
    "auction": _l("Sold at auction or leased: the competent authority"),
}
AGREEMENT_STATES = {
    "proposed": _l("Waiting for approval"),
    "rejected": _l("Rejected"),
    "active": _l("In force"),
    "completed": _l("Paid in full"),
}
AGREEMENT_PROBLEMS = {
    "form": _l("Choose who signs, the number of instalments and the first due date (such as 2027-01-15)."),
    "count": _l("An agreement has 1 to 36 instalments, each at least a fen."),
    "shares": _l("In a split, write each party on a line as: name, share in yuan. The shares must add up to the whole debt."),
    "counterparty": _l("Write the name of who signs the agreement."),
    "nothing_owed": _l("This employer has no arrears outside an agreement."),
    "first_due": _l("The first instalment cannot be due before today."),
    "own": _l("You proposed this agreement yourself: another supervisor must approve it."),
    "role": _l("Only a supervisor may approve or reject an agreement."),
    "state": _l("This agreement is not waiting for that: it was decided already, or another proposal waits."),
    "paid": _l("This instalment is paid already."),
}

# payment records: proving who you are (issue 9). Each takes %(time)s or %(tries)s, used or not.
NAME_MISMATCH = _l("The name read from this ID card is not the name registered for this number. Please place your own "
                   "ID card on the reader, or ask at the counter.")
SEND_OUTCOMES = {
    Sent.SENT: _l("A code was sent."),
    Sent.NO_PHONE: _l("No mobile number is registered for you. Please place your ID card on the reader, or register a "
                      "number at the counter."),
    Sent.LIMITED: _l("Too many codes were sent. Please wait until %(time)s, or place your ID card on the reader."),
    Sent.THROTTLED: _l("The SMS service is busy for this number. Please try again in a few minutes, or place your ID card "
                       "on the reader."),
    Sent.FAILED: _l("The code could not be sent just now. Please try again, or place your ID card on the reader."),
    Sent.OFF: _l("Codes by SMS are not offered here. Please place your ID card on the reader."),
}
CODE_VERDICTS = {
    Verdict.WRONG: _l("This code is not right. You can try %(tries)s more times."),
    Verdict.SPENT: _l("This code can no longer be used. Please ask for a new code."),
    Verdict.EXPIRED: _l("This code has expired: codes are valid for 5 minutes. Please ask for a new code."),
    Verdict.MALFORMED: _l("The code has 6 digits. Please type all of them."),
}
PHONE_INVALID = _l("A mobile number has 11 digits and starts with 13 to 19, e.g. 138 0013 8000.")
CERTIFICATE_NOTHING = _l("Nothing was paid for that year and scheme: there is no certificate to print.")
CHANNELS = {"kiosk": _l("Kiosk"), "counter": _l("Counter"), "statement": _l("Recovered from the provider's statement")}
