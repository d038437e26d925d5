"""Screen texts from the Babel catalogs in locales/ (Arabic first, English)."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("ar", "en")
DEFAULT = "ar"


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
    """gettext and ngettext for one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._t = translations(self.lang)

    def __call__(self, message: str, **values: object) -> str:
        text = self._t.gettext(message)
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Return the form for `n` (Arabic has six; Babel's plural rule picks it)."""
        return self._t.ngettext(singular, plural, n).format(n=n, **values)


def _(message: str) -> str:
    """Mark a message for extraction where it is defined, not translated yet."""
    return message
