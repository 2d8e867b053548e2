"""Every sentence the web layer shows for a domain value, translatable, in one place."""
from flask_babel import lazy_gettext as _l

from ..domain.idnumber import IdProblem
from ..domain.premiums import Category, Scheme

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
}

CATEGORIES = {
    Category.STANDARD: "",
    Category.MINIMUM_LIVING: _l("Minimum living guarantee: the government pays part of your premium"),
    Category.EXTREME_POVERTY: _l("Extreme poverty support: the government pays your premium"),
    Category.ORPHAN: _l("Orphan support: the government pays your premium"),
}
