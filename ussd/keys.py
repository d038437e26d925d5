"""Every Redis key the USSD service uses, built in one place.

A SIM is named by its keyed hash (core.pseudonyms.msisdn_ref), never by its number:
key names show up in monitoring, slow logs and dumps.
"""

PREFIX = "hudoor:ussd"


def session(session_id: str) -> str:
    """The state of one Africa's Talking session."""
    return f"{PREFIX}:s:{session_id[:100]}"


def resume(sim_ref: str) -> str:
    """An unfinished attendance session (or guardian's quiz) a caller may resume from a new session."""
    return f"{PREFIX}:r:{sim_ref}"


def failures(sim_ref: str) -> str:
    """Wrong activation or slip codes from one SIM, to stop guessing across sessions."""
    return f"{PREFIX}:f:{sim_ref}"


def roll(class_id: int) -> str:
    """A class's cached roll: its students' ids in roll order and the fingerprint, no name."""
    return f"{PREFIX}:roll:{class_id}"


def caller(sim_ref: str) -> str:
    """Who a SIM belongs to (ids and flags only, no name), cached for a minute."""
    return f"{PREFIX}:caller:{sim_ref}"


def classes(staff_id: int) -> str:
    """The classes a staff member may take, cached for a minute."""
    return f"{PREFIX}:classes:{staff_id}"


def taken(day: str) -> str:
    """The set of class ids whose attendance is confirmed on `day`."""
    return f"{PREFIX}:taken:{day}"


def hop_minute(minute: int) -> str:
    """Every process's hop latency histogram and error count for one minute (epoch minute)."""
    return f"{PREFIX}:hops:{minute}"
