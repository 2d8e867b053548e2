"""Settings per environment; see ``settings.py``. Premium rules for the demo live in ``rules/``."""
