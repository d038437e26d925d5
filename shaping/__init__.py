"""Per-operator SMS send-rate shaping shared by every worker through Redis."""
