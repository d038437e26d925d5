"""Texts from the Babel catalogs in locales/ (Arabic first, English), for USSD screens and SMS."""

from __future__ import annotations

import io
from functools import lru_cache

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from core.config import ROOT

LOCALES = ROOT / "locales"
LANGUAGES = ("ar", "en")
DEFAULT = "ar"

# Babel formats numbers with ASCII digits; Arabic SMS texts show Eastern Arabic ones.
_EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def language(lang: str) -> str:
    """Return `lang` if Hudoor speaks it, else the default (Arabic)."""
    return lang if lang in LANGUAGES else DEFAULT


def digits(text: str, lang: str) -> str:
    """Return text with Eastern Arabic digits (٠–٩) when the language is Arabic."""
    return text.translate(_EASTERN) if lang == "ar" else text


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """Return the compiled catalog for `lang` (compiled in memory from the committed .po)."""
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


class Texts:
    """gettext and ngettext for one language.

    USSD screens keep ASCII digits (what a teacher types); SMS texts ask for Eastern
    Arabic digits in Arabic with `eastern_digits=True`.
    """

    def __init__(self, lang: str, *, eastern_digits: bool = False) -> None:
        self.lang = language(lang)
        self._t = translations(self.lang)
        self._eastern = eastern_digits and self.lang == "ar"

    def __call__(self, message: str, **values: object) -> str:
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Return the form for `n` (Arabic has six; the catalog's Plural-Forms picks it)."""
        shown = str(n).translate(_EASTERN) if self._eastern else n
        return self._t.ngettext(singular, plural, n).format(n=shown, **values)


def _(message: str) -> str:
    """Mark a message for extraction where it is defined, not translated yet."""
    return message


class Refusal(ValueError):
    """A refusal whose message is a catalog text and its values: English by `str()` (CLI, API,
    logs), any language by `text(lang)` (the desk pages, in the page's language)."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message, self.values = message, values

    def text(self, lang: str) -> str:
        return Texts(lang)(self.message, **self.values)
