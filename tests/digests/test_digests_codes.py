"""Africa's Talking status codes and DLR statuses map to the right outbox outcomes."""

from __future__ import annotations

import pytest

from digests.providers.base import Outcome
from digests.providers.codes import UnknownDlrStatus, dlr_event, submit_outcome
from digests.states import Event


@pytest.mark.parametrize("code,outcome", [
    (100, Outcome.ACCEPTED), (101, Outcome.ACCEPTED), (102, Outcome.ACCEPTED),
    (401, Outcome.PERMANENT), (402, Outcome.PERMANENT), (403, Outcome.PERMANENT),
    (404, Outcome.PERMANENT), (405, Outcome.TRANSIENT), (406, Outcome.PERMANENT),
    (407, Outcome.TRANSIENT), (409, Outcome.PERMANENT), (500, Outcome.TRANSIENT),
    (501, Outcome.TRANSIENT), (502, Outcome.THROTTLED), (999, Outcome.TRANSIENT),
])
def test_every_submit_code_has_an_outcome(code: int, outcome: Outcome) -> None:
    assert submit_outcome(code)[0] is outcome


@pytest.mark.parametrize("status,reason,event", [
    ("Success", None, Event.DELIVERED),
    ("Sent", None, Event.ACCEPTED),
    ("Buffered", None, Event.ACCEPTED),
    ("Submitted", None, Event.ACCEPTED),
    ("AbsentSubscriber", "AbsentSubscriber", Event.TRANSIENT_FAILURE),
    ("Expired", None, Event.TRANSIENT_FAILURE),
    ("Failed", "DeliveryFailure", Event.TRANSIENT_FAILURE),
    ("Failed", "InsufficientCredit", Event.TRANSIENT_FAILURE),
    ("Failed", "UserInBlackList", Event.PERMANENT_FAILURE),
    ("Failed", "UserDoesNotExist", Event.PERMANENT_FAILURE),
    ("Rejected", "DoNotDisturbRejection", Event.PERMANENT_FAILURE),
])
def test_dlr_statuses(status: str, reason: str | None, event: Event) -> None:
    assert dlr_event(status, reason) is event


def test_unknown_dlr_status_is_refused() -> None:
    with pytest.raises(UnknownDlrStatus):
        dlr_event("Teleported", None)
