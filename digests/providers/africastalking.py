"""Africa's Talking through its official SDK; the only module that imports it."""

from __future__ import annotations

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

from digests.providers.at_transport import PooledPost
from digests.providers.base import (
    Outcome,
    ProviderInDoubt,
    ProviderUnavailable,
    Submission,
    SubmitResult,
)
from digests.providers.codes import parse_answer as _parse

TIMEOUT = (3.05, 9.05)  # the SDK's own default: connect, read


class AfricasTalkingProvider:
    """Send one SMS per call through `SMSService.send` and classify the answer."""

    name = "africastalking"

    def __init__(self, username: str, api_key: str, *, base_url: str = "",
                 sender_id: str = "", pooled: bool = False,
                 timeout: tuple[float, float] = TIMEOUT) -> None:
        self._sms = SMSService(username, api_key)
        self._timeout = timeout
        if base_url:
            # The SDK builds every URL as _baseUrl + path; pointing it elsewhere
            # (the simulator) is this one attribute, set the way _init_service does.
            self._sms._baseUrl = base_url.rstrip("/") + "/version1"
        if pooled:
            self._pool(self._sms)
        self._sender_id = sender_id or None

    @staticmethod
    def _pool(sms: SMSService) -> None:
        # See digests/providers/at_transport.py and docs/BENCHMARKS.md.
        sms._Service__make_post_request = PooledPost()  # type: ignore[attr-defined]

    def submit(self, message: Submission) -> SubmitResult:
        """Send one message; map its per-recipient statusCode to an Outcome."""
        try:
            answer = self._sms.send(message.text, [message.msisdn], sender_id=self._sender_id,
                                    timeout=self._timeout)
        except (requests.ConnectionError, requests.exceptions.ConnectTimeout) as exc:
            if isinstance(exc, requests.exceptions.ReadTimeout):
                raise ProviderInDoubt(str(exc)) from exc
            raise ProviderUnavailable(str(exc)) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise ProviderInDoubt(str(exc)) from exc
        except AfricasTalkingException as exc:
            # A non-2xx answer: the request was refused as a whole (auth, 5xx).
            return SubmitResult(Outcome.TRANSIENT, None, f"http: {str(exc)[:150]}")
        except ValueError as exc:  # the SDK's own phone-number check
            return SubmitResult(Outcome.PERMANENT, None, f"InvalidPhoneNumber: {exc}")
        return _parse(answer)

