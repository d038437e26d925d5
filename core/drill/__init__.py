"""The disaster-recovery drill: back up, restore into a fresh cluster, verify (R4)."""
