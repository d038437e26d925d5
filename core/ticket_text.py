"""What a ticket's text may hold: no phone numbers, national ids or credentials; security words.

A ticket names people by their student or staff id, never by phone or national id (data
minimisation), and support never asks for a password, one-time code or token (R6): text that
holds one is refused with a message saying what was found and why, or, when the caller asks,
stored with those runs replaced. Security words (Arabic and English) send a ticket past
every tier to the security role (G4).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.i18n import Refusal, Texts, _

# Eastern Arabic (٠-٩) and Persian (۰-۹) digits read as ASCII ones; one char for one char,
# so positions found in the translated text are positions in the original.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# A run of digits, possibly grouped by spaces, dashes, dots or brackets ("010 1234-5678").
# Not when glued to a Latin letter, digit, dash or slash: "STF-0001-0003" is an id, not a phone.
_DIGIT_RUN = re.compile(r"(?<![A-Za-z0-9_\-/])\+?\d(?:[ \-.()]{0,2}\d)*")
# Dates and clock times are masked first: "2026-11-30 09:30" is no phone number.
_DATE_TIME = re.compile(r"(?<!\d)(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
                        r"|\d{1,2}:\d{2}(?::\d{2})?)(?!\d)")
_EG_MOBILE = re.compile(r"^(?:\+?20|0020|0)?1[0125]\d{8}$")
_NATIONAL_ID = re.compile(r"^[23]\d{13}$")  # century digit, birth date, governorate, serial
CODE_DIGITS = 6  # an unbroken run this long reads as a one-time code (ours are 9 and 10)
LONG_DIGITS = 10  # a grouped run this long is a phone, an id or an account number
_SECRET_WORDS = (r"password|passcode|passwd|pwd|pin|otp|code|token|secret|"
                 r"كلمة السر|كلمة المرور|كلمه السر|كلمه المرور|باسورد|الباسورد|رمز|الرمز|كود|الكود")
_SECRET_GIVEN = re.compile(rf"(?i)(?:{_SECRET_WORDS})\s*(?:is|هو|هي|:|=)\s*\S+")
# An API token or session key: one long word of letters and digits, or dotted parts (signed).
_TOKEN = re.compile(r"(?<![\w\-.])(?:Bearer\s+)?(?:[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]{4,})+"
                    r"|[A-Za-z0-9_\-]{20,})")
_ID_SHAPED = re.compile(r"^[A-Z]{2,5}(?:-[A-Z0-9]{1,8})+$")  # STF-0001-0003, SCH-0001-G1-A


# Marked for the catalogs: the desk shows a refusal in the page's language (TextRefused.text).
KIND_NAMES = (_("phone number"), _("national id"), _("long digit run"), _("code or password"))
FIELD_NAMES = (_("title"), _("description"), _("reason"))


class TextRefused(Refusal):
    """The text holds something a ticket must not store; the message says what and why.

    English by `str()` (CLI, API); `text(lang)` in any language (the desk pages).
    """

    def __init__(self, field: str, found: list["Finding"], *, strip_hint: bool = True) -> None:
        self.field, self.found, self.strip_hint = field, found, strip_hint
        super().__init__(self._compose(Texts("en")))

    def text(self, lang: str) -> str:
        return self._compose(Texts(lang))

    def _compose(self, t: Texts) -> str:
        kinds = {f.kind for f in self.found}
        where = ", ".join(t("{kind} ending …{tail}", kind=t(f.kind), tail=f.tail)
                          for f in self.found[:5])
        advice = []
        if {"phone number", "national id", "long digit run"} & kinds:
            advice.append(t("name people by their student or staff id, never by phone number or "
                            "national id (data minimisation)"))
        if "code or password" in kinds:
            advice.append(t("support never asks for or stores a password, one-time code or token; "
                            "if one was shared, say so without it and the ticket goes to security"))
        text = t("the {field} was refused: it holds {where}. Remove it: {advice}",
                 field=t(self.field), where=where, advice="; ".join(advice))
        return text + t(" (or pass --strip / \"strip\": true to have it removed)") if self.strip_hint else text


@dataclass(frozen=True)
class Finding:
    kind: str  # "phone number" | "national id" | "long digit run" | "code or password"
    start: int
    end: int
    tail: str  # the last two characters, so a person can find it; never the whole value


def _kind(pieces: list[str]) -> str | None:
    joined = "".join(pieces)
    digits = joined.lstrip("+")
    # Groups of one or two digits are dates and times, not a national id cut up.
    if _NATIONAL_ID.match(digits) and all(len(p) >= 3 for p in pieces):
        return "national id"
    # Grouped, a number is written in groups of 2+ digits after a 0 or +20 ("010 1234 5678");
    # "120 4 120 120" is a list of counts, not a phone.
    grouped_ok = len(pieces) == 1 or (all(len(p.lstrip("+")) >= 2 for p in pieces[1:])
                                      and joined.startswith(("0", "+", "20")))
    if grouped_ok and (_EG_MOBILE.match(joined) or (joined.startswith("+") and len(digits) >= 8)):
        return "phone number"
    if len(pieces) == 1 and len(digits) >= CODE_DIGITS:
        return "code or password"
    return None


def _long_runs(pieces: list[tuple[int, int, str]]) -> list[Finding]:
    """Return stretches of groups of 3+ digits that make 10+ digits (an account, a card).

    Groups of one or two digits (dates, times) break a stretch: "2026-11-30 09:30" is no number.
    """
    found, stretch = [], []
    for piece in [*pieces, (0, 0, "")]:
        if len(piece[2].lstrip("+")) >= 3:
            stretch.append(piece)
            continue
        if sum(len(p[2].lstrip("+")) for p in stretch) >= LONG_DIGITS:
            found.append(Finding("long digit run", stretch[0][0], stretch[-1][1], stretch[-1][2][-2:]))
        stretch = []
    return found


def _digit_runs(text: str) -> list[Finding]:
    found = []
    masked = _DATE_TIME.sub(lambda d: "x" * len(d.group()), text.translate(_DIGITS))
    for m in _DIGIT_RUN.finditer(masked):
        # The groups of one run ("010 1234 5678 09:30"): the longest stretch of them that
        # reads as a phone or an id, from each group on, so a time after a number is no cover.
        pieces = [(m.start() + p.start(), m.start() + p.end(), p.group())
                  for p in re.finditer(r"\+?\d+", m.group())]
        i, hits = 0, []
        while i < len(pieces):
            for j in range(len(pieces), i, -1):
                kind = _kind([p[2] for p in pieces[i:j]])
                if kind:
                    hits.append(Finding(kind, pieces[i][0], pieces[j - 1][1], pieces[j - 1][2][-2:]))
                    i = j
                    break
            else:
                i += 1
        if not hits:
            hits = _long_runs(pieces)
        found += hits
    return found


def _secrets(text: str) -> list[Finding]:
    found = [Finding("code or password", m.start(), m.end(), m.group()[-2:])
             for m in _SECRET_GIVEN.finditer(text)]
    for m in _TOKEN.finditer(text):
        word = m.group().removeprefix("Bearer").strip()
        if (_ID_SHAPED.match(word) or ("." in word and len(word) < 24)  # report_2026.docx
                or not (re.search(r"\d", word) and re.search(r"[A-Za-z]", word))):
            continue
        found.append(Finding("code or password", m.start(), m.end(), word[-2:]))
    return found


def findings(text: str) -> list[Finding]:
    """Return every phone number, national id, long digit run or credential in `text`."""
    return sorted(_digit_runs(text) + _secrets(text), key=lambda f: f.start)


def strip(text: str) -> tuple[str, list[Finding]]:
    """Return `text` with every finding replaced by "[removed: KIND]", and the findings."""
    found = findings(text)
    out, last = [], 0
    for f in found:
        if f.start < last:  # overlapping finds (a code inside "password: …"): one removal
            continue
        out += [text[last:f.start], f"[removed: {f.kind}]"]
        last = f.end
    return "".join(out) + text[last:], found


def check(text: str, *, field: str = "description") -> None:
    """Refuse `text` if it holds a phone number, a national id or a credential.

    Raises:
        TextRefused: naming each kind found and where, and what to do instead.
    """
    found = findings(text)
    if found:
        raise TextRefused(field, found)


# --- security words -------------------------------------------------------------------------

_TASHKEEL = re.compile(r"[\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06ED\u0640]")  # and tatweel
_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و",
                       "ئ": "ي"})
ARABIC_WORDS = ("اختراق", "مخترق", "اخترق", "اتخترق", "تسريب", "تسريبات", "اتسرب", "اتسربت",
                "مسرب", "سرقه", "مسروق", "اتسرق", "هكر", "اتهكر", "تهكير", "كلمه السر",
                "كلمه المرور", "باسورد", "انتحال", "احتيال", "تصيد", "بيانات اتسربت",
                "دخول غير مصرح", "حد دخل على")
ENGLISH_WORDS = ("breach", "breached", "leak", "leaked", "leaking", "hacked", "hack", "hacker",
                 "password", "stolen phone", "phone stolen", "stolen", "lost phone",
                 "phishing", "malware", "ransomware", "sim swap", "unauthorised",
                 "unauthorized", "impersonated", "impersonating", "impersonation",
                 "compromised", "data exposed", "leaks", "breaches")
_ENGLISH = re.compile(r"(?i)\b(?:" + "|".join(re.escape(w) for w in ENGLISH_WORDS) + r")\b")


def normalise_arabic(text: str) -> str:
    """Drop diacritics and tatweel and fold letter variants, so spellings match."""
    return _TASHKEEL.sub("", unicodedata.normalize("NFKC", text)).translate(_ALEF)


def security_words(text: str) -> list[str]:
    """Return the security words found in `text` (Arabic spellings folded), in word order."""
    folded = normalise_arabic(text)
    found = [m.group().lower() for m in _ENGLISH.finditer(folded)]
    found += [w for w in ARABIC_WORDS if normalise_arabic(w) in folded]
    return list(dict.fromkeys(found))
