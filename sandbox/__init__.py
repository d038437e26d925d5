"""Sandbox SIS: a synthetic upstream student information system that can misbehave."""

from core.sandbox.app import create_sandbox_app
from core.sandbox.district import District
from core.sandbox.faults import Faults, FaultSwitch
from core.sandbox.server import SandboxServer, serve

__all__ = ["District", "FaultSwitch", "Faults", "SandboxServer", "create_sandbox_app", "serve"]
