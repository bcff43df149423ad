"""Invariants checked after a run against the system's own database (not the model's records)."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from system.adapters import tables as t
from system.bootstrap import SqlServiceContext
from system.domain.model import PUBLISHED_STATUSES


def check_system_invariants(ctx: SqlServiceContext) -> list[str]:
    """Every violated invariant, described; an empty list means all hold."""
    problems: list[str] = []
    e, tr, sc, r = t.evidence_items.c, t.transfers.c, t.shared_clips.c, t.responses.c
    n, o, vr = t.notifications.c, t.opt_outs.c, t.video_requests.c
    with ctx.uow(read_only=True) as uow:
        conn = uow.connection
        untraced = conn.execute(
            select(func.count())
            .select_from(t.evidence_items)
            .outerjoin(t.transfers, tr.evidence_id == e.id)
            .outerjoin(t.shared_clips, sc.id == tr.shared_clip_id)
            .outerjoin(t.responses, r.id == sc.response_id)
            .where(
                e.parent_id.is_(None),
                or_(
                    tr.id.is_(None),
                    and_(tr.kind == "consent", or_(r.id.is_(None), r.decision != "share")),
                ),
            )
        ).scalar_one()
        if untraced:
            problems.append(f"{untraced} evidence items do not trace to a resident's share")
        after_opt_out = conn.execute(
            select(func.count())
            .select_from(t.notifications)
            .join(t.video_requests, vr.id == n.request_id)
            .join(
                t.opt_outs,
                and_(
                    o.resident_id == n.resident_id,
                    or_(o.agency_id.is_(None), o.agency_id == vr.agency_id),
                ),
            )
            .where(n.notified_at > o.opted_out_at)  # equal stamps: same instant, order unknown
        ).scalar_one()
        if after_opt_out:
            problems.append(f"{after_opt_out} notifications went to residents who had opted out")
        responses = conn.execute(select(func.count()).select_from(t.responses)).scalar_one()
        notifications = conn.execute(select(func.count()).select_from(t.notifications)).scalar_one()
        shares = conn.execute(
            select(func.count()).select_from(t.responses).where(r.decision == "share")
        ).scalar_one()
        if responses > notifications:
            problems.append(f"{responses} responses exceed {notifications} notifications")
        if shares > responses:
            problems.append(f"{shares} shares exceed {responses} responses")
        duplicated = conn.execute(
            select(func.count()).select_from(
                select(tr.id)
                .where(tr.evidence_id.is_not(None))
                .group_by(tr.id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        if duplicated:
            problems.append(f"{duplicated} transfers produced more than one evidence item")
        most = ctx.policy.max_requests_per_case
        over_limit = conn.execute(
            select(func.count()).select_from(
                select(vr.case_id)
                .where(vr.status.in_([s.value for s in PUBLISHED_STATUSES]))
                .group_by(vr.case_id)
                .having(func.count() > most)
                .subquery()
            )
        ).scalar_one()
        if over_limit:
            problems.append(
                f"cases with more than {most} published requests (REQ-04): {over_limit}"
            )
        verdict = uow.audit.verify()
        if not verdict.ok:
            problems.append(str(verdict))
    return problems
