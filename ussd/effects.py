"""Apply the writes a USSD step asked for, in one transaction, through the core services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core import (adjustments, assessments, attendance, codes, consent, contacts, delegation,
                  privacy, support_access)
from core.config import Config
from core.db import end_refused
from core.models import CodeKind, Person, utcnow
from core.pseudonyms import msisdn_tail
from ussd.ports import (
    ActivateStaff,
    AnswerSupport,
    ConfirmAttendance,
    DecideAdjustment,
    Delegate,
    Effect,
    EndSupport,
    EnrolGuardian,
    MarkLate,
    RequestCorrection,
    RecordAnswer,
    PrivacyAsk,
    RequestLateAdjustment,
    RevokeDelegation,
    SetLanguage,
    SetOptOut,
)
from ussd.cache import HopCache
from ussd.flow_attendance import roll_changed
from ussd.state import State


class EffectRefused(Exception):
    """A write was refused by the rules (code used meanwhile, not your class)."""


class EffectEnded(Exception):
    """A write the rules turned down with a screen of its own: `step` says why."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step


# Why a correction request was turned down → the END screen that tells the teacher.
CORRECTION_REFUSALS = ((adjustments.Locked, "corr_locked"),
                       (adjustments.AlreadyPending, "corr_pending"),
                       (adjustments.NothingToChange, "corr_same"))


@dataclass(frozen=True)
class HopInfo:
    session_id: str
    msisdn: str  # E.164: only to bind or link the SIM itself
    sim_ref: str  # its keyed hash (core.pseudonyms): wherever the number is only an identifier


def _apply_one(session: Session, cfg: Config, hop: HopInfo, effect: Effect, day, now=None) -> None:  # type: ignore[no-untyped-def]
    actor = f"ussd:{msisdn_tail(hop.msisdn)}"
    if isinstance(effect, ConfirmAttendance):
        attendance.confirm(session, class_id=effect.class_id, staff_id=effect.staff_id, day=day,
                           absent=effect.absent, late=effect.late, session_id=hop.session_id,
                           msisdn=hop.sim_ref, now=now, fingerprint=effect.fingerprint)
    elif isinstance(effect, MarkLate):
        attendance.mark_late(session, class_id=effect.class_id, staff_id=effect.staff_id, day=day,
                             late=effect.late, session_id=hop.session_id,
                             fingerprint=effect.fingerprint)
    elif isinstance(effect, DecideAdjustment):
        try:
            adjustments.decide(session, cfg, effect.adjustment_id, approver_id=effect.staff_id,
                               approve=effect.approve, now=now or utcnow())
        except adjustments.AdjustmentError as exc:
            raise EffectRefused(str(exc)) from exc
    elif isinstance(effect, RequestLateAdjustment):
        _request_late(session, cfg, effect, day, now)
    elif isinstance(effect, RequestCorrection):
        _request_correction(session, cfg, effect, now or utcnow())
    elif isinstance(effect, ActivateStaff):
        person = session.get(Person, effect.person_id)
        owner = codes.consume(session, cfg.secret_key, CodeKind.STAFF_ACTIVATION, effect.code, hop.sim_ref)
        if person is None or owner != person.id:
            raise EffectRefused("activation code already used, burned or expired")
        contacts.bind_staff(session, person, hop.msisdn, actor=actor)
    elif isinstance(effect, EnrolGuardian):
        # A slip links exactly one guardian: the code is used up by this link.
        student = session.get(Person, effect.student_id)
        owner = codes.consume(session, cfg.secret_key, CodeKind.GUARDIAN_SLIP, effect.code, hop.sim_ref)
        if student is None or not student.active or owner != student.id:
            raise EffectRefused("slip code already used, burned or expired")
        contacts.link_guardian(session, student, hop.msisdn, effect.lang, actor=actor,
                               wording=effect.wording, channel=consent.Channel.USSD, now=now)
    elif isinstance(effect, Delegate):
        delegation.delegate(session, class_id=effect.class_id, grantor_id=effect.grantor_id,
                            grantee_id=effect.grantee_id, days=effect.days)
    elif isinstance(effect, RevokeDelegation):
        delegation.revoke(session, effect.delegation_id, effect.staff_id)
    elif isinstance(effect, AnswerSupport):
        support_access.decide(session, effect.grant_id, effect.staff_id, grant=effect.grant,
                              now=now or utcnow(), actor=actor)
    elif isinstance(effect, EndSupport):
        support_access.revoke(session, effect.grant_id, effect.staff_id, now=now or utcnow(),
                              actor=actor)
    elif isinstance(effect, SetOptOut):
        contacts.set_opt_out(session, hop.msisdn, effect.opted_out, actor=actor, now=now)
    elif isinstance(effect, SetLanguage):
        contacts.set_language(session, hop.msisdn, effect.lang, actor=actor)
    elif isinstance(effect, RecordAnswer):
        try:  # the date, the stage and the link are checked again where the answer is written
            assessments.record(session, msisdn=hop.msisdn, student_id=effect.student_id,
                               quiz_id=effect.quiz, question_id=effect.question,
                               choice=effect.choice, now=now or utcnow(), actor=actor)
        except assessments.NotOpen as exc:
            raise EffectRefused(str(exc)) from exc
    elif isinstance(effect, PrivacyAsk):
        _privacy(session, cfg, hop, effect, now or utcnow())


def _privacy(session: Session, cfg: Config, hop: HopInfo, effect: PrivacyAsk, now) -> None:  # type: ignore[no-untyped-def]
    """Record a data-subject request (the SMS copy and the outbox rewrite follow within a minute)."""
    kind = privacy.Kind(effect.kind)
    args = dict(channel=consent.Channel.USSD, secret=cfg.secret_key, now=now,
                answer_days=cfg.privacy_answer_days)
    try:
        if kind is privacy.Kind.ERASURE:
            privacy.erase(session, hop.msisdn, **args)  # type: ignore[arg-type]
        else:
            privacy.open_request(session, kind, hop.msisdn, **args)  # type: ignore[arg-type]
    except privacy.NothingHeld as exc:
        raise EffectRefused("no child is linked to this phone") from exc


def _request_late(session: Session, cfg: Config, effect: RequestLateAdjustment, day, now=None) -> None:  # type: ignore[no-untyped-def]
    """Turn late arrivals after the cut-off into adjustment requests (a repeat asks nothing twice)."""
    now = now or utcnow()
    if not attendance.may_take(session, effect.staff_id, effect.class_id, now):
        raise EffectRefused("not your class")
    for pid in effect.late:
        try:
            adjustments.request(session, cfg, person_id=pid, day=day, to_status="late",
                                reason=adjustments.Reason.LATE_ARRIVAL,
                                requested_by=f"staff:{effect.staff_id}", now=now)
        except (adjustments.NothingToChange, adjustments.AlreadyPending):
            continue  # already late, or already asked for


def _request_correction(session: Session, cfg: Config, effect: RequestCorrection, now) -> None:  # type: ignore[no-untyped-def]
    """Ask for one student-day of the teacher's class to change, as the CLI and API do."""
    if not attendance.may_take(session, effect.staff_id, effect.class_id, now):
        raise EffectRefused("not your class")
    try:
        held = adjustments.student_day(session, effect.person_id, effect.day)
        if held.class_id != effect.class_id:
            raise EffectRefused("the student was not in this class that day")
        adjustments.request(session, cfg, person_id=effect.person_id, day=effect.day,
                            to_status=effect.to_status, reason=adjustments.Reason(effect.reason),
                            requested_by=f"staff:{effect.staff_id}", now=now)
    except adjustments.AdjustmentError as exc:
        step = next((s for kind, s in CORRECTION_REFUSALS if isinstance(exc, kind)), "refused")
        raise EffectEnded(step, str(exc)) from exc


def apply(session: Session, cfg: Config, hop: HopInfo, effects: list[Effect], after: State,
          before: State, day, now=None,  # type: ignore[no-untyped-def]
          forget_roll: Callable[[int], None] = lambda _class_id: None) -> tuple[State, bool]:
    """Commit the effects, or undo them and return the state that tells the caller what happened.

    A database failure returns to the screen before the confirming input with a notice,
    keeping every mark typed so far: a failure never turns into a silent loss. A roll that
    changed since the caller's cache read it (`forget_roll` drops that cache) returns to
    the review with the numbers still on the roll, and the notice that it changed.
    """
    try:
        for effect in effects:
            _apply_one(session, cfg, hop, effect, day, now)
        session.commit()
        return after, True
    except attendance.AlreadyTaken:
        end_refused(session)
        return after.with_(step="att_conflict"), False
    except attendance.RollChanged as exc:
        end_refused(session)
        forget_roll(exc.class_id)
        return roll_changed(before, exc.fingerprint, exc.size).with_(
            hops=after.hops, digest=after.digest), False
    except EffectEnded as exc:
        end_refused(session)
        return after.with_(step=exc.step), False
    except (EffectRefused, attendance.NotAllowed, attendance.NotTakenYet,
            delegation.DelegationRefused, contacts.ContactRefused, support_access.SupportRefused):
        end_refused(session)
        return after.with_(step="refused"), False
    except SQLAlchemyError:
        session.rollback()
        return before.with_(notice="not_saved", hops=after.hops, digest=after.digest), False


def invalidate(cache: HopCache, hop: HopInfo, effects: list[Effect], day) -> bool:  # type: ignore[no-untyped-def]
    """Drop the cached views that committed effects changed; tell whether the caller was one."""
    caller_changed = False
    for effect in effects:
        if isinstance(effect, ConfirmAttendance):
            cache.mark_taken(day, effect.class_id)
        elif isinstance(effect, (ActivateStaff, EnrolGuardian, SetOptOut, SetLanguage, PrivacyAsk)):
            cache.forget_caller(hop.sim_ref)
            caller_changed = True
        elif isinstance(effect, Delegate):
            cache.forget_classes(effect.grantor_id, effect.grantee_id)
        elif isinstance(effect, RevokeDelegation):
            cache.forget_classes(effect.staff_id)
    return caller_changed
