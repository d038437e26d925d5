"""Short class titles for small screens: the grade abbreviated, the section always kept."""

from __future__ import annotations

# Egyptian class names read "الصف الثالث الابتدائي (ب)": grade word, ordinal, stage, section.
# The short form is how Egyptian schools say it: "ثالثة ابتدائي" (no digit, which a menu key
# in front of it would make ambiguous: "1 3 ابتدائي").
_ORDINALS = {"الأول": "أولى", "الاول": "أولى", "الثاني": "ثانية", "الثالث": "ثالثة",
             "الرابع": "رابعة", "الخامس": "خامسة", "السادس": "سادسة"}
_STAGES = {"الابتدائي": "ابتدائي", "الإعدادي": "إعدادي", "الاعدادي": "إعدادي",
           "الثانوي": "ثانوي"}
_GRADE_WORDS = frozenset({"الصف", "صف"})


def short_class_name(name: str) -> str:
    """Return "ثالثة ابتدائي (ب)" for "الصف الثالث الابتدائي (ب)"; other names unchanged."""
    words = name.split()
    if len(words) < 2 or words[0] not in _GRADE_WORDS or words[1] not in _ORDINALS:
        return name
    return " ".join([_ORDINALS[words[1]]] + [_STAGES.get(w, w) for w in words[2:]])
