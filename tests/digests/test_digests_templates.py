"""Digest wording from the catalogs: plural forms, Eastern digits, segment budgets."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import i18n
from sandbox.names import FATHER, FEMALE_FIRST, MALE_FIRST
from digests.compose_types import ChildStatus
from core.gsm import Encoding, segment_count
from digests.inbound import HELP_TEXT
from digests.templates import given_name, render, render_term

START, END = date(2026, 9, 20), date(2026, 12, 31)  # the longest date labels: 31/12
EASTERN = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# The CLDR Arabic categories, worked out by hand (not from Babel): the form a count takes.
AR_FORMS = {"zero": "لا {noun}", "one": "{noun} يوم", "two": "{noun} يومين",
            "few": "{noun} {n} أيام", "many": "{noun} {n} يوما", "other": "{noun} {n} يوم"}


def cldr_ar(n: int) -> str:
    if n in (0, 1, 2):
        return ("zero", "one", "two")[n]
    if 3 <= n % 100 <= 10:
        return "few"
    return "many" if 11 <= n % 100 <= 99 else "other"


def ar_days(noun: str, n: int) -> str:
    return AR_FORMS[cldr_ar(n)].format(noun=noun, n=str(n).translate(EASTERN))


def en_days(word: str, n: int) -> str:
    return f"{word} {n} day" + ("" if n == 1 else "s")


def test_daily_digest_comes_from_the_catalogs() -> None:
    kids = [("عبد الرحمن", ChildStatus.ABSENT), ("منة الله", ChildStatus.LATE),
            ("مريم", ChildStatus.PRESENT), ("عمر", ChildStatus.UNRECORDED)]
    assert render("ar", date(2026, 11, 29), kids) == (
        "حضور ٢٩/١١: عبد الرحمن غياب، منة الله تأخير، مريم حضور، عمر لم يسجل")
    assert render("en", date(2026, 11, 29), [("Omar", ChildStatus.UNRECORDED)]) == (
        "Hudoor 29/11: Omar not recorded")
    assert render("fr", date(2026, 11, 29), [("Omar", ChildStatus.LATE)]).startswith("حضور ٢٩/١١")


def test_term_summary_examples() -> None:
    kids = [("مريم", 2, 1), ("عمر", 0, 0)]
    assert render_term("ar", START, END, kids) == (
        "حضور ٢٠/٩-٣١/١٢: مريم غياب يومين وتأخير يوم، عمر لا غياب ولا تأخير")
    assert render_term("en", START, END, [("Omar", 1, 0), ("Laila", 12, 2)]) == (
        "Hudoor 20/9-31/12: Omar absent 1 day, late 0 days; Laila absent 12 days, late 2 days")
    assert segment_count(render_term("ar", START, END, kids)).segments == 1


def test_help_reply_comes_from_the_catalogs() -> None:
    assert i18n.Texts("ar")(HELP_TEXT) == (
        "حضور: رسالة يومية بحضور أبنائك. للإيقاف أرسل إيقاف، وللعودة ابدأ")
    assert i18n.Texts("en")(HELP_TEXT).startswith("Hudoor: a daily attendance SMS")
    assert segment_count(i18n.Texts("ar")(HELP_TEXT)).segments == 1
    assert segment_count(i18n.Texts("en")(HELP_TEXT)).encoding is Encoding.GSM7


counts = st.integers(min_value=0, max_value=200)
arabic_names = st.builds(lambda first, father: given_name(f"{first} {father}"),
                         st.sampled_from(MALE_FIRST + FEMALE_FIRST), st.sampled_from(FATHER))
latin_names = st.from_regex(r"[A-Z][a-z]{1,9}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(arabic_names, counts, counts), min_size=1, max_size=2))
def test_arabic_term_summary_plurals_digits_and_segments(kids: list[tuple[str, int, int]]) -> None:
    text = render_term("ar", START, END, kids)
    expected = "، ".join(f"{name} {ar_days('غياب', a)} و{ar_days('تأخير', late)}"
                         for name, a, late in kids)
    assert text == "حضور ٢٠/٩-٣١/١٢: " + expected
    assert not re.search(r"[0-9]", text)  # Eastern Arabic digits only
    assert segment_count(text).segments <= len(kids)  # one child: always one segment


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(latin_names, counts, counts), min_size=1, max_size=2))
def test_english_term_summary_plurals_and_one_gsm7_segment(
        kids: list[tuple[str, int, int]]) -> None:
    text = render_term("en", START, END, kids)
    assert text == "Hudoor 20/9-31/12: " + "; ".join(
        f"{name} {en_days('absent', a)}, {en_days('late', late)}" for name, a, late in kids)
    info = segment_count(text)
    assert info.encoding is Encoding.GSM7 and info.segments == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(arabic_names, counts, counts), min_size=1, max_size=2))
def test_english_term_summary_with_arabic_names_stays_within_a_segment_per_child(
        kids: list[tuple[str, int, int]]) -> None:
    info = segment_count(render_term("en", START, END, kids))
    assert info.encoding is Encoding.UCS2 and info.segments <= len(kids)


@pytest.mark.parametrize("n, form", [(0, "zero"), (1, "one"), (2, "two"), (3, "few"), (10, "few"),
                                     (11, "many"), (99, "many"), (100, "other"), (102, "other"),
                                     (103, "few"), (111, "many"), (200, "other")])
def test_catalog_order_of_arabic_forms_matches_cldr(n: int, form: str) -> None:
    assert cldr_ar(n) == form
    text = render_term("ar", START, END, [("مريم", n, 0)])
    assert text.endswith(f"مريم {ar_days('غياب', n)} ولا تأخير")


def test_wording_is_looked_up_once_per_language(monkeypatch: pytest.MonkeyPatch) -> None:
    kids = [("مريم", 3, 0), ("عمر", 0, 1)]
    for lang in ("ar", "en"):
        render(lang, START, [("مريم", ChildStatus.ABSENT)])
        render_term(lang, START, END, kids)

    def no_gettext(*args: object, **kwargs: object) -> str:
        raise AssertionError("catalog looked up per message")

    monkeypatch.setattr(i18n.Texts, "__call__", no_gettext)
    monkeypatch.setattr(i18n.Texts, "plural", no_gettext)
    for lang in ("ar", "en"):
        assert render(lang, START, [("مريم", ChildStatus.ABSENT)])
        assert render_term(lang, START, END, kids)
