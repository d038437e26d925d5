"""SMS digest building blocks: GSM 03.38 / UCS-2 encoding and segment counting."""
