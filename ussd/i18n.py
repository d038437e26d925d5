"""The USSD flows' name for the shared catalog helper, which lives in core/i18n.py."""

from core.i18n import DEFAULT, LANGUAGES, LOCALES, Texts, _, translations

__all__ = ["DEFAULT", "LANGUAGES", "LOCALES", "Texts", "_", "translations"]
