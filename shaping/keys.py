"""Name every Redis key the shaper uses, so none is spelled twice."""

from __future__ import annotations

from shaping.operators import Operator

PREFIX = "hudoor:shaping:"


def _scope(operator: Operator) -> str:
    # The braces are a Redis Cluster hash tag: all of one operator's keys land
    # in one slot, which a multi-key Lua script requires.
    return f"{PREFIX}{{{operator.value}}}:"


def grant_log(operator: Operator) -> str:
    """Return the sorted set of grant times (score: µs of Redis TIME) in the last second."""
    return _scope(operator) + "log"


def grant_sequence(operator: Operator) -> str:
    """Return the counter that makes each grant-log member unique."""
    return _scope(operator) + "seq"


def rate_state(operator: Operator) -> str:
    """Return the hash holding the backed-off rate: rate, since_us, backed_off_us."""
    return _scope(operator) + "rate"


def operator_keys(operator: Operator) -> tuple[str, str, str]:
    """Return the keys the acquire script touches, in its KEYS order."""
    return grant_log(operator), grant_sequence(operator), rate_state(operator)


def next_slot(operator: Operator) -> str:
    """Return the next free send moment (µs of Redis TIME) of paced grants."""
    return _scope(operator) + "next"


def paced_keys(operator: Operator) -> tuple[str, str, str, str]:
    """Return the keys the paced acquire script touches, in its KEYS order."""
    return (*operator_keys(operator), next_slot(operator))
