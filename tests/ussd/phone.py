"""A feature phone for tests: it posts Africa's Talking-shaped USSD callbacks to the app."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

_ids = itertools.count(1)


@dataclass
class Phone:
    client: object
    msisdn: str = "+201001234567"
    token: str = "test-ussd-token"
    network: str = "60202"
    inputs: list[str] = field(default_factory=list)
    session_id: str = ""
    last: str = ""

    def dial(self) -> str:
        """Start a new session (AT sends empty text first)."""
        self.session_id = f"ATUid_{next(_ids)}"
        self.inputs = []
        return self._post()

    def send(self, value: str) -> str:
        self.inputs.append(value)
        return self._post()

    def resend(self) -> str:
        """The operator retries the last request."""
        return self._post()

    def _post(self) -> str:
        resp = self.client.post(f"/at/ussd?token={self.token}", data={  # type: ignore[attr-defined]
            "sessionId": self.session_id, "serviceCode": "*384*22#", "phoneNumber": self.msisdn,
            "networkCode": self.network, "text": "*".join(self.inputs)})
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.mimetype == "text/plain"
        self.last = resp.get_data(as_text=True)
        assert self.last.startswith(("CON ", "END ")), self.last
        return self.last
