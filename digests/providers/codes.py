"""Africa's Talking status vocabulary, mapped to outbox outcomes (pure, no SDK)."""

from __future__ import annotations

from typing import Any

from digests.providers.base import Outcome, ProviderError, SubmitResult
from digests.states import Event

# Per-recipient statusCode of POST /version1/messaging.
SUBMIT_CODES: dict[int, tuple[Outcome, str]] = {
    100: (Outcome.ACCEPTED, "Processed"),
    101: (Outcome.ACCEPTED, "Sent"),
    102: (Outcome.ACCEPTED, "Queued"),
    401: (Outcome.PERMANENT, "RiskHold"),  # AT's fraud hold; needs a human, not a retry
    402: (Outcome.PERMANENT, "InvalidSenderId"),
    403: (Outcome.PERMANENT, "InvalidPhoneNumber"),
    404: (Outcome.PERMANENT, "UnsupportedNumberType"),
    405: (Outcome.TRANSIENT, "InsufficientBalance"),  # retried once someone tops up
    406: (Outcome.PERMANENT, "UserInBlacklist"),
    407: (Outcome.TRANSIENT, "CouldNotRoute"),
    409: (Outcome.PERMANENT, "DoNotDisturbRejection"),
    500: (Outcome.TRANSIENT, "InternalServerError"),
    501: (Outcome.TRANSIENT, "GatewayError"),
    # The gateway refuses what the operator will not take now: that is throttling.
    502: (Outcome.THROTTLED, "RejectedByGateway"),
}


def submit_outcome(code: int) -> tuple[Outcome, str]:
    """Return the outcome of a per-recipient statusCode; unknown codes are transient."""
    return SUBMIT_CODES.get(code, (Outcome.TRANSIENT, f"UnknownStatus{code}"))


def parse_answer(answer: Any) -> SubmitResult:
    """Classify the decoded answer to one single-recipient POST /version1/messaging
    (the SDK's path and the event-loop sender's read it by these same rules)."""
    if not isinstance(answer, dict):
        raise ProviderError(f"unexpected answer: {str(answer)[:200]}")
    recipients = answer.get("SMSMessageData", {}).get("Recipients") or []
    if len(recipients) != 1:
        message = answer.get("SMSMessageData", {}).get("Message", "")
        return SubmitResult(Outcome.TRANSIENT, None, f"no recipient status: {message}"[:200])
    first = recipients[0]
    outcome, name = submit_outcome(int(first.get("statusCode", 0)))
    message_id = first.get("messageId") or None
    if message_id == "None":
        message_id = None
    reason = "" if outcome is Outcome.ACCEPTED else f"{first.get('statusCode')} {name}"
    return SubmitResult(outcome, message_id, reason, str(first.get("cost", "")))


# Delivery-report `status` values.
_DLR_PROGRESS = {"Sent", "Submitted", "Buffered"}
_DLR_TRANSIENT_STATUS = {"AbsentSubscriber", "Expired"}
_DLR_FAILURE_STATUS = {"Failed", "Rejected"}
# failureReason values worth another attempt; every other reason is permanent.
TRANSIENT_REASONS = frozenset({"DeliveryFailure", "InsufficientCredit", "AbsentSubscriber"})


class UnknownDlrStatus(ValueError):
    """Signal a delivery-report status this code does not know."""


def dlr_event(status: str, failure_reason: str | None) -> Event:
    """Return the outbox event a delivery report's status and failureReason mean."""
    if status == "Success":
        return Event.DELIVERED
    if status in _DLR_PROGRESS:
        return Event.ACCEPTED
    if status in _DLR_TRANSIENT_STATUS:
        return Event.TRANSIENT_FAILURE
    if status in _DLR_FAILURE_STATUS:
        if (failure_reason or "") in TRANSIENT_REASONS:
            return Event.TRANSIENT_FAILURE
        return Event.PERMANENT_FAILURE
    raise UnknownDlrStatus(status)
