"""Central staff and their admin-API tokens, made through the real CLI."""

from __future__ import annotations

from gateway.cli import cli


def staff_token(runner, role: str, subject: str, name: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Register `subject` in the central staff register with `role`; return a bearer token."""
    out = runner.invoke(cli, ["staff", "add", "--staff-id", subject, "--name", name or f"Agent {subject}",
                              "--role", role, "--by", "test", "--reason", "fixture"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["tokens", "issue", "--subject", subject, "--role", role])
    assert out.exit_code == 0, out.output
    return str(out.stdout.strip())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
