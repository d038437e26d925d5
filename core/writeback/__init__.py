"""Attendance write-back to the upstream SIS (C2) and what both sides hold (C3)."""
