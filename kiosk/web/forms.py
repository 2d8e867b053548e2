"""Form shapes (Flask-WTF, so every POST carries a CSRF token). The domain judges the values."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget


# the largest id an INTEGER column holds (PostgreSQL's is 32-bit): a larger "id" names no row, and
# handed to the database it is an error there (integer out of range), not an empty answer
MAX_ROW_ID = 2**31 - 1


def row_id(value) -> int:
    """A row's id as a form sends it: a whole number an id column can hold, else ValueError
    (the field is invalid, as for text that is not a number)."""
    number = int(value)
    if not 1 <= number <= MAX_ROW_ID:
        raise ValueError("not an id")
    return number


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token."""


class IdentifyForm(FlaskForm):
    id_number = StringField()


class PayForm(FlaskForm):
    bills = SelectMultipleField(coerce=row_id, validate_choice=False, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    key = HiddenField()


class PreferenceForm(FlaskForm):
    next = HiddenField()


class MemberForm(FlaskForm):
    """Remove a family member: the person's internal id (never their ID number)."""
    person = IntegerField()


class StaffLoginForm(FlaskForm):
    username = StringField()
    password = PasswordField()


class StaffLanguageForm(FlaskForm):
    """The staff pages' language (kept apart from the citizen's)."""


class CounterIdentifyForm(FlaskForm):
    id_number = StringField()


class CounterPayForm(FlaskForm):
    """A counter payment: the bills ticked, how it is paid and what the cashier typed about it.
    Amounts arrive as typed text; ``domain.counter`` judges them."""
    bills = SelectMultipleField(coerce=row_id, validate_choice=False, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    key = HiddenField()
    method = StringField()
    tendered = StringField()
    reference = StringField()
    card_number = StringField()


class FloatForm(FlaskForm):
    amount = StringField()


class RefundAskForm(FlaskForm):
    """A refund or void asked for: the receipt it is of, what and how much (blank: all), and why."""
    receipt = HiddenField()
    kind = StringField()
    amount = StringField()
    reason = StringField()


class EnrolForm(FlaskForm):
    """The one-time code that enrols this browser as a terminal."""
    code = StringField()


class TerminalForm(FlaskForm):
    """A terminal for the registry."""
    code = StringField()
    name = StringField()
    kind = StringField()
    location = StringField()
    region = StringField()


class PrintingForm(FlaskForm):
    """How a terminal prints: browser or ESC/POS, the printer's address and encoding."""
    mode = StringField()
    url = StringField()
    encoding = StringField()


class AgreementForm(FlaskForm):
    """An instalment agreement proposed: who signs (one per line; for a split, "name, share"),
    how many monthly instalments, and the first one's due date."""
    kind = StringField()
    parties = StringField()
    count = StringField()
    first_due = StringField()


class InstalmentPayForm(FlaskForm):
    method = StringField()
    tendered = StringField()
    reference = StringField()


class RecordsIdentifyForm(FlaskForm):
    """The ID number from the keypad or the ID-card reader; the reader also types the name (a Tab,
    then the name, then Enter) into ``name``, which proves the card was there."""
    id_number = StringField()
    name = StringField()


class CodeForm(FlaskForm):
    """The one-time code from the SMS, typed on the keypad."""
    code = StringField()


class PhoneForm(FlaskForm):
    """The mobile number a citizen gives at the counter for one-time codes."""
    phone = StringField()


class ReprintForm(FlaskForm):
    """A receipt's internal id (``row_id`` judges it: a number no id column holds names no row)."""
    receipt = StringField()


class CertificateForm(FlaskForm):
    """A certificate's year and scheme: as two fields (the kiosk's buttons) or as one
    ``year:scheme`` choice (the counter's list)."""
    year = IntegerField()
    scheme = StringField()
    choice = StringField()
