"""Residents' own choices: opting out of requests and back in (CON-04)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from system.domain.audit import AuditEvent
from system.domain.errors import NotFound
from system.domain.model import OptOut
from system.service_layer.context import ServiceContext
from system.service_layer.unit_of_work import UnitOfWork


def _resident_exists(uow: UnitOfWork, resident_id: int, *, lock: bool = False) -> None:
    # Locking the resident's row serialises their own consent changes, so two
    # concurrent opt-outs cannot both insert (the second sees the first).
    if uow.residents.get(resident_id, for_update=lock) is None:
        raise NotFound(f"no resident {resident_id}", field="resident_id")


def _agency_exists(uow: UnitOfWork, agency_id: int | None) -> None:
    if agency_id is not None and uow.agencies.get(agency_id) is None:
        raise NotFound(f"no agency {agency_id}", field="agency_id")


def opt_out(ctx: ServiceContext, *, resident_id: int, agency_id: int | None = None) -> None:
    """Stop all future requests (``agency_id`` None) or those of one agency. Idempotent."""
    with ctx.uow() as uow:
        _resident_exists(uow, resident_id, lock=True)
        _agency_exists(uow, agency_id)
        if uow.opt_outs.get(resident_id, agency_id) is None:
            uow.opt_outs.add(resident_id, agency_id, now=ctx.clock.now())
            _audit(uow, ctx, resident_id, agency_id, "opt_out")
        uow.commit()


def opt_out_many(ctx: ServiceContext, opt_outs: Sequence[tuple[int, datetime | None]]) -> int:
    """Many residents opt out of all future requests, each at its own time (default now,
    never later than now), in one transaction; the set-based path of :func:`opt_out`.
    Idempotent per resident; returns how many opt-outs were new."""
    with ctx.uow() as uow:
        added = opt_out_many_in(uow, opt_outs, ctx.clock.now())
        uow.commit()
    return added


def opt_out_many_in(
    uow: UnitOfWork, opt_outs: Sequence[tuple[int, datetime | None]], now: datetime
) -> int:
    """:func:`opt_out_many` inside the caller's unit of work (which commits)."""
    if any(at is not None and at > now for _r, at in opt_outs):
        raise ValueError("an opt-out in a batch is later than now")
    known = uow.residents.get_many([r for r, _at in opt_outs], for_update=True)
    missing = [r for r, _at in opt_outs if r not in known]
    if missing:
        raise NotFound(f"no resident {missing[0]}", field="resident_id")
    already = {o.resident_id for o in uow.opt_outs.global_among(list(known))}
    new: list[tuple[int, datetime]] = []
    for resident_id, at in opt_outs:
        if resident_id not in already:
            already.add(resident_id)
            new.append((resident_id, at or now))
    uow.opt_outs.add_many_at(new)
    uow.audit.record_many([(_event(resident_id, None, "opt_out"), at) for resident_id, at in new])
    return len(new)


def opt_in(ctx: ServiceContext, *, resident_id: int, agency_id: int | None = None) -> None:
    """Undo an opt-out of the same scope. Idempotent."""
    with ctx.uow() as uow:
        _resident_exists(uow, resident_id, lock=True)
        _agency_exists(uow, agency_id)
        if uow.opt_outs.get(resident_id, agency_id) is not None:
            uow.opt_outs.remove(resident_id, agency_id)
            _audit(uow, ctx, resident_id, agency_id, "opt_in")
        uow.commit()


def opt_outs(ctx: ServiceContext, *, resident_id: int) -> list[OptOut]:
    with ctx.uow(read_only=True) as uow:
        _resident_exists(uow, resident_id)
        return uow.opt_outs.for_resident(resident_id)


def _audit(
    uow: UnitOfWork, ctx: ServiceContext, resident_id: int, agency_id: int | None, action: str
) -> None:
    uow.audit.record(_event(resident_id, agency_id, action), now=ctx.clock.now())


def _event(resident_id: int, agency_id: int | None, action: str) -> AuditEvent:
    scope = "all agencies" if agency_id is None else f"agency:{agency_id}"
    return AuditEvent(
        actor=f"resident:{resident_id}",
        role="resident",
        object=f"resident:{resident_id}",
        action=f"consent.{action}",
        details={"scope": scope},
    )
