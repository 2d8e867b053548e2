"""Form shapes (Flask-WTF, so every POST carries a CSRF token). The domain judges the values."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token."""


class IdentifyForm(FlaskForm):
    id_number = StringField()


class PayForm(FlaskForm):
    bills = SelectMultipleField(coerce=int, validate_choice=False, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    key = HiddenField()


class PreferenceForm(FlaskForm):
    next = HiddenField()


class MemberForm(FlaskForm):
    """Remove a family member: the person's internal id (never their ID number)."""
    person = IntegerField()
