"""Transfers: a shared (or emergency-disclosed) clip travels to the agency's evidence store.

Steps, each safe to repeat (XFR-01..03):

1. *start*: the transfer is marked started; from now on the resident can no
   longer withdraw the share (CON-07).
2. *read*: the original is read from the platform's clip store, its SHA-256
   verified against the hash recorded at upload, and a transient copy is put
   in the platform's outbox (audio removed unless the resident ticked
   "include audio": a derived copy with its own hash, PRV-03/XFR-04).
3. *write*: the transient copy is read, verified, and written to the agency's
   evidence store, which verifies the hash again as it writes.
4. *acknowledge*: one transaction creates the evidence item (unique per
   transfer, so a retry can never make a second one, XFR-02) and marks the
   transfer delivered. This commit is the agency's confirmation of receipt.
5. *clean up*: the platform's transient copy is deleted (XFR-03).

A worker that dies at any point leaves the job to be retried; because every
step is idempotent the retry ends with exactly one evidence item. A hash
mismatch quarantines the bad object, is audited, and the next attempt reads
again from the source; a corrupt original is quarantined and the transfer
fails for good (the camera's upload is gone).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from system.domain.audit import AuditEvent
from system.domain.clip import read_metadata, without_audio
from system.domain.errors import NotFound
from system.domain.evidence import (
    MAX_EVIDENCE_BYTES,
    EvidenceItem,
    EvidenceStatus,
    RetentionCategory,
)
from system.domain.stores import IntegrityError, ObjectNotFound
from system.service_layer.context import ServiceContext
from system.service_layer.retention import retention_policy
from system.service_layer.unit_of_work import UnitOfWork

MAX_CLIP_BYTES = MAX_EVIDENCE_BYTES  # XFR-05 (design): one limit for clips and evidence

Fault = Callable[[str], None]
"""A test hook called with a step name: ``after_read``, ``after_write``, ``before_ack``."""


def _no_fault(_step: str) -> None:
    return None


@dataclass(frozen=True)
class TransferOrder:
    """A transfer to record and queue (see :func:`enqueue_transfers`)."""

    kind: str  # "consent" or "emergency"
    clip_id: int
    agency_id: int
    case_id: int
    request_id: int | None
    include_audio: bool
    contributor: dict[str, str] | None
    at: datetime
    shared_clip_id: int | None = None
    emergency_id: int | None = None


def enqueue_transfer(
    uow: UnitOfWork,
    *,
    kind: str,
    clip_id: int,
    agency_id: int,
    case_id: int,
    request_id: int | None,
    include_audio: bool,
    contributor: dict[str, str] | None,
    now: datetime,
    shared_clip_id: int | None = None,
    emergency_id: int | None = None,
) -> int:
    """Record a transfer and queue the job that performs it (in the caller's transaction)."""
    order = TransferOrder(
        kind,
        clip_id,
        agency_id,
        case_id,
        request_id,
        include_audio,
        contributor,
        now,
        shared_clip_id,
        emergency_id,
    )
    return enqueue_transfers(uow, [order])[0]


def enqueue_transfers(uow: UnitOfWork, orders: Sequence[TransferOrder]) -> list[int]:
    """Record transfers and queue one job for each, set-based; transfer ids in order."""
    transfer_ids = uow.transfers.add_many(
        [
            {
                "kind": o.kind,
                "shared_clip_id": o.shared_clip_id,
                "emergency_id": o.emergency_id,
                "clip_id": o.clip_id,
                "agency_id": o.agency_id,
                "case_id": o.case_id,
                "request_id": o.request_id,
                "include_audio": o.include_audio,
                "contributor": o.contributor,
                "status": "queued",
                "created_at": o.at,
            }
            for o in orders
        ]
    )
    jobs: list[tuple[dict[str, Any], str | None, datetime | None]] = [
        ({"transfer_id": transfer_id}, f"transfer:{transfer_id}", order.at)
        for order, transfer_id in zip(orders, transfer_ids, strict=True)
    ]
    if jobs:
        # Keyed by the new transfers' ids: no pending job can hold one of those keys.
        uow.jobs.enqueue_many("transfer", jobs, now=max(o.at for o in orders), fresh_keys=True)
    return transfer_ids


class TransferFailed(Exception):
    """The transfer cannot complete now; the job runner retries it later."""


FINISHED = ("delivered", "quarantined", "withdrawn", "failed")


def run_transfer(ctx: ServiceContext, *, transfer_id: int, fault: Fault = _no_fault) -> str:
    """Perform one transfer; returns its final status. Idempotent."""
    outcome = run_transfers(ctx, [transfer_id], fault=fault)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def run_transfers(
    ctx: ServiceContext, transfer_ids: Sequence[int], *, fault: Fault = _no_fault
) -> list[str | Exception]:
    """Perform transfers together: the steps above, each database step one transaction
    for all of them. Returns, in order, each transfer's final status or the error that
    stopped it (the job runner retries those); the others are unaffected."""
    outcomes: dict[int, str | Exception] = {}
    plans = _start(ctx, transfer_ids, outcomes)
    copied = _copy_to_outbox(ctx, plans, outcomes)
    fault("after_read")
    written = _copy_to_evidence(ctx, copied, outcomes)
    fault("after_write")
    _acknowledge(ctx, written, fault)
    ctx.stores.outbox.delete_many([transfer_sha for _id, _plan, transfer_sha in written])
    for transfer_id, _plan, _sha in written:
        outcomes[transfer_id] = "delivered"
    for transfer_id in transfer_ids:
        if transfer_id not in outcomes:
            outcomes[transfer_id] = _finished_status(ctx, transfer_id)
    return [outcomes[transfer_id] for transfer_id in transfer_ids]


class _Plan:
    def __init__(self, clip_sha: str, include_audio: bool, has_audio: bool, kind: str) -> None:
        self.clip_sha = clip_sha
        self.strip_audio = has_audio and not include_audio
        self.kind = kind
        self.size = 0
        self.recorded_at: datetime | None = None
        self.delivered_has_audio = False


def _start(
    ctx: ServiceContext, transfer_ids: Sequence[int], outcomes: dict[int, str | Exception]
) -> dict[int, _Plan]:
    """Mark the transfers started (no more withdrawal) and plan each; finished ones and
    withdrawn shares get no plan."""
    now = ctx.clock.now()
    plans: dict[int, _Plan] = {}
    with ctx.uow() as uow:
        transfers = uow.transfers.get_many(transfer_ids, for_update=True)
        live = [tr for tr in transfers.values() if tr.status not in FINISHED]
        shared = uow.responses.shared_clips_for_update(
            [tr.shared_clip_id for tr in live if tr.shared_clip_id is not None]
        )
        clips = uow.clips.get_many([tr.clip_id for tr in live])
        withdrawn, transferring, starting = [], [], []
        for transfer_id in transfer_ids:
            transfer = transfers.get(transfer_id)
            if transfer is None:
                outcomes[transfer_id] = NotFound(f"no transfer {transfer_id}", field="transfer_id")
                continue
            if transfer.status in FINISHED or transfer_id in plans:
                continue
            if transfer.shared_clip_id is not None:
                if shared[transfer.shared_clip_id].status == "withdrawn":
                    withdrawn.append(transfer_id)
                    continue
                transferring.append(transfer.shared_clip_id)
            if transfer.status == "queued":
                starting.append(transfer_id)
            clip = clips[transfer.clip_id]
            plans[transfer_id] = _Plan(
                clip.sha256, transfer.include_audio, clip.has_audio, transfer.kind
            )
        uow.transfers.update_many(withdrawn, status="withdrawn")
        uow.responses.set_shared_clips_status(transferring, "transferring", now=now)
        uow.transfers.update_many(starting, status="started", started_at=now)
        uow.commit()
    return plans


def _finished_status(ctx: ServiceContext, transfer_id: int) -> str:
    with ctx.uow(read_only=True) as uow:
        transfer = uow.transfers.get(transfer_id)
    assert transfer is not None
    if transfer.status == "delivered":
        # A retry after the acknowledgement: make sure the transient copy is gone.
        with ctx.uow(read_only=True) as uow:
            item = uow.evidence.get(transfer.evidence_id) if transfer.evidence_id else None
        if item is not None:
            ctx.stores.outbox.delete(item.sha256)
    return transfer.status


def _copy_to_outbox(
    ctx: ServiceContext, plans: dict[int, _Plan], outcomes: dict[int, str | Exception]
) -> list[tuple[int, _Plan, str]]:
    """Read and verify each original and put its transient copy, all in one ``put_many``;
    returns (transfer, plan, copy's hash) of those copied. A bad or missing original is
    quarantined; any other failure is that transfer's outcome (retried), not the others'."""
    stored = ctx.stores.outbox.put_many(
        [(_transient_copy(ctx, plan), None) for plan in plans.values()], max_bytes=MAX_CLIP_BYTES
    )
    copied = []
    for (transfer_id, plan), result in zip(plans.items(), stored, strict=True):
        if isinstance(result, IntegrityError | ObjectNotFound):
            _quarantine_original(ctx, transfer_id, plan.clip_sha, str(result))
            outcomes[transfer_id] = "quarantined"
        elif isinstance(result, Exception):
            outcomes[transfer_id] = result
        else:
            plan.size = result.size
            copied.append((transfer_id, plan, result.sha256))
    return copied


def _transient_copy(ctx: ServiceContext, plan: _Plan) -> Iterator[bytes]:
    """The original as the outbox takes it: verified chunk by chunk and in full at the
    end, read once (head included), audio removed if the plan says so."""
    chunks = iter(ctx.stores.clips.read(plan.clip_sha))
    head = next(chunks, b"")
    meta = read_metadata(head)
    plan.recorded_at = meta.recorded_at
    plan.delivered_has_audio = meta.has_audio and not plan.strip_audio
    source = itertools.chain([head], chunks)
    yield from (without_audio(meta, source) if plan.strip_audio else source)


def _copy_to_evidence(
    ctx: ServiceContext,
    copied: Sequence[tuple[int, _Plan, str]],
    outcomes: dict[int, str | Exception],
) -> list[tuple[int, _Plan, str]]:
    """Write each transient copy to the evidence store, which checks its hash as it writes
    (one ``put_many``); returns those written. A bad copy is set aside and audited, and
    its transfer retried from the source."""
    stored = ctx.stores.evidence.put_many(
        [(_read_when_taken(ctx, sha), sha) for _id, _plan, sha in copied],
        max_bytes=MAX_CLIP_BYTES,
    )
    written = []
    for (transfer_id, plan, transfer_sha), result in zip(copied, stored, strict=True):
        if isinstance(result, IntegrityError):
            ctx.stores.outbox.quarantine(transfer_sha, str(result))
            _audit(
                ctx, transfer_id, "transfer.integrity_failure", "quarantined", {"stage": "outbox"}
            )
            failure = TransferFailed(f"transient copy failed verification: {result}")
            failure.__cause__ = result
            outcomes[transfer_id] = failure
        elif isinstance(result, Exception):
            outcomes[transfer_id] = result
        else:
            written.append((transfer_id, plan, transfer_sha))
    return written


def _read_when_taken(ctx: ServiceContext, sha256: str) -> Iterator[bytes]:
    yield from ctx.stores.outbox.read(sha256)  # opened only when the evidence store reads it


def _acknowledge(
    ctx: ServiceContext, written: Sequence[tuple[int, _Plan, str]], fault: Fault
) -> None:
    now = ctx.clock.now()
    with ctx.uow() as uow:
        transfers = uow.transfers.get_many([w[0] for w in written], for_update=True)
        pending = [w for w in written if transfers[w[0]].status != "delivered"]
        existing = uow.evidence.by_source_refs([f"transfer:{w[0]}" for w in pending])
        new = [w for w in pending if f"transfer:{w[0]}" not in existing]
        policy = retention_policy(uow)  # the periods in force (an admin setting, EVD-03)
        new_ids = uow.evidence.add_many(
            [
                EvidenceItem(
                    id=0,
                    agency_id=transfers[transfer_id].agency_id,
                    case_id=transfers[transfer_id].case_id,
                    request_id=transfers[transfer_id].request_id,
                    source_ref=f"transfer:{transfer_id}",
                    sha256=transfer_sha,
                    size_bytes=plan.size or ctx.stores.evidence.size(transfer_sha),
                    recorded_at=plan.recorded_at,
                    has_audio=plan.delivered_has_audio,
                    received_at=now,
                    retention_category=RetentionCategory.STANDARD,
                    retain_until=policy.retain_until(now, RetentionCategory.STANDARD),
                    legal_hold=False,
                    status=EvidenceStatus.STORED,
                    derivation=(
                        f"audio_removed_from:{plan.clip_sha}" if plan.strip_audio else None
                    ),
                    contributor=transfers[transfer_id].contributor,
                )
                for transfer_id, plan, transfer_sha in new
            ]
        )
        evidence_of = {ref: item.id for ref, item in existing.items()}
        evidence_of.update((f"transfer:{w[0]}", i) for w, i in zip(new, new_ids, strict=True))
        delivered = [(w[0], evidence_of[f"transfer:{w[0]}"], now) for w in pending]
        uow.transfers.deliver_many(delivered)
        uow.responses.set_shared_clips_status(
            [shared for w in pending if (shared := transfers[w[0]].shared_clip_id) is not None],
            "delivered",
            now=now,
        )
        uow.audit.record_many(
            [
                (
                    AuditEvent(
                        actor="system:transfer",
                        role="system",
                        object=f"transfer:{transfer_id}",
                        action="transfer.delivered",
                        details={
                            "evidence_id": evidence_of[f"transfer:{transfer_id}"],
                            "sha256": transfer_sha,
                            "kind": plan.kind,
                        },
                    ),
                    now,
                )
                for transfer_id, plan, transfer_sha in pending
            ]
        )
        fault("before_ack")
        uow.commit()


def _quarantine_original(ctx: ServiceContext, transfer_id: int, clip_sha: str, reason: str) -> None:
    ctx.stores.clips.quarantine(clip_sha, reason)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        transfer = uow.transfers.get(transfer_id, for_update=True)
        assert transfer is not None
        uow.transfers.update(transfer_id, status="quarantined", last_error=reason[:2000])
        uow.clips.set_status(transfer.clip_id, "quarantined")
        if transfer.shared_clip_id is not None:
            uow.responses.set_shared_clip_status(transfer.shared_clip_id, "quarantined", now=now)
        uow.audit.record(
            AuditEvent(
                actor="system:transfer",
                role="system",
                object=f"transfer:{transfer_id}",
                action="transfer.integrity_failure",
                outcome="quarantined",
                details={"stage": "clip_store", "clip_sha256": clip_sha},
            ),
            now=now,
        )
        uow.commit()


def _audit(
    ctx: ServiceContext, transfer_id: int, action: str, outcome: str, details: dict[str, str]
) -> None:
    with ctx.uow() as uow:
        uow.audit.record(
            AuditEvent(
                actor="system:transfer",
                role="system",
                object=f"transfer:{transfer_id}",
                action=action,
                outcome=outcome,
                details=details,
            ),
            now=ctx.clock.now(),
        )
        uow.commit()
