"""Reverting a bulk unlink, under hypothesis: it puts back exactly the before-images, or it
refuses, changing nothing, exactly when a later change would be clobbered (decision 0024)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import bulk, contacts
from core.models import Contact, ContactKind, Person, School

NOW = datetime(2026, 11, 29, 7, 30, tzinfo=timezone.utc)
SIMS = [f"+2010012300{i:02d}" for i in range(4)]
later_change = st.one_of(
    st.tuples(st.just("relink"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("language"), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("stop"), st.integers(0, 3), st.just(0)))


def _contacts(session) -> dict[int, tuple]:  # type: ignore[no-untyped-def,type-arg]
    return {c.id: (c.person_id, c.msisdn, c.revoked_at, c.revoked_reason, c.language, c.opted_out_at)
            for c in session.scalars(select(Contact))}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(links=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=8),
       unlinked=st.sets(st.integers(0, 3), min_size=1), later=st.lists(later_change, max_size=5))
@example(links=[(0, 0)], unlinked={0}, later=[("relink", 0, 0)])  # the same SIM linked again
@example(links=[(0, 0)], unlinked={0},  # three new numbers since: one more would be a fourth
         later=[("relink", 0, 1), ("relink", 0, 2), ("relink", 0, 3)])
def test_a_revert_restores_exactly_or_refuses_exactly_when_it_would_clobber(
        runtime, links: list[tuple[int, int]], unlinked: set[int],
        later: list[tuple[str, int, int]]) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        s.begin()
        school = School(upstream_id="SCH-P", name="P", governorate="Cairo")
        s.add(school)
        s.flush()
        kids = [Person(upstream_id=f"STU-P-{i}", school_id=school.id, role="student",
                       display_name=f"Kid {i}", name_key=f"kid {i}") for i in range(4)]
        s.add_all(kids)
        s.flush()
        for kid, sim in links:
            try:
                contacts.link_guardian(s, kids[kid], SIMS[sim], "ar", actor="test")
            except contacts.ContactRefused:
                pass
        before = _contacts(s)
        op = bulk.unlink(s, [kids[i].id for i in unlinked], ContactKind.GUARDIAN, actor="ops:t",
                         reason="property", now=NOW)
        ended = {cid: row for cid, row in before.items()
                 if row[0] in {kids[i].id for i in unlinked} and row[2] is None}
        clobbered = False
        for kind, kid, sim in later:
            if kind == "relink":
                try:
                    made = contacts.link_guardian(s, kids[kid], SIMS[sim], "ar", actor="test")
                except contacts.ContactRefused:
                    continue
                clobbered |= made and any(r[0] == kids[kid].id and r[1] == SIMS[sim]
                                          for r in ended.values())
            elif kind == "language":
                contacts.set_language(s, SIMS[kid], "en", actor="test")
            else:
                contacts.set_opt_out(s, SIMS[kid], True, actor="test")
        s.flush()
        attempted = _contacts(s)
        for kid in unlinked:  # restoring must not give a child more than MAX_GUARDIANS numbers
            live = sum(1 for r in attempted.values() if r[0] == kids[kid].id and r[2] is None)
            back = sum(1 for r in ended.values() if r[0] == kids[kid].id)
            clobbered |= back > 0 and live + back > contacts.MAX_GUARDIANS
        try:
            bulk.revert(s, op.id, by="ops:t", reason="undo", now=NOW + timedelta(hours=1))
        except bulk.ChangedSince as exc:
            assert clobbered and exc.rows
            assert _contacts(s) == attempted  # all or nothing: nothing was changed
        else:
            assert not clobbered
            after = _contacts(s)
            for cid, row in ended.items():  # every link the operation ended is back, as it was
                assert after[cid][:4] == row[:4]
            live = [(r[0], r[1]) for r in after.values() if r[2] is None]
            assert len(live) == len(set(live))  # and no SIM is linked twice to one child
        s.rollback()
