"""Stand-ins for a phone number wherever it is only an identifier (keys, audit, telemetry).

A keyed hash (HMAC-SHA256 with the secret key) names the same SIM every time without
storing its number, and cannot be reversed by hashing all ~10^10 Egyptian numbers
without the key. The last three digits are for people reading a log.
"""

from __future__ import annotations

import hmac

REF_CHARS = 16  # 64 bits: no two SIMs of a country share one; fits the String(20) columns


def msisdn_ref(secret: str, msisdn: str) -> str:
    """Return the keyed hash that stands for `msisdn` (E.164) in keys, audit rows and telemetry."""
    # hmac.digest: OpenSSL's one-shot HMAC, without building an HMAC object (asked every hop)
    return hmac.digest(secret.encode(), f"msisdn:{msisdn}".encode(), "sha256").hex()[:REF_CHARS]


def msisdn_tail(msisdn: str) -> str:
    """Return the last three digits, for a human reading a log ("…567")."""
    return f"…{msisdn[-3:]}"
