"""Sandbox SIS: a synthetic upstream student information system that can misbehave."""

from sandbox.app import create_sandbox_app
from sandbox.district import District
from sandbox.faults import Faults, FaultSwitch
from sandbox.server import SandboxServer, serve

__all__ = ["District", "FaultSwitch", "Faults", "SandboxServer", "create_sandbox_app", "serve"]
