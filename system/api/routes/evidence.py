"""Evidence on the agency side, and the grantee's share links (EVD-01..04, XFR-01).

The service layer decides who may see what (assigned detectives, their
supervisors, explicit grantees) and audits every read. Downloads stream the
decrypted bytes; ``X-Content-SHA256`` carries the item's hash so the client can
check what it received, and the server verifies the same hash as it reads.

``/shared/{token}`` needs no account: the share token is the credential, so
those two routes are rate-limited per source address (SEC-06) to blunt guessing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.responses import StreamingResponse

from system.api.ratelimit import Rate, TokenBucket
from system.api.schemas import (
    AssignmentCreate,
    EvidenceDeleteCreate,
    EvidencePublic,
    Id,
    LegalHoldCreate,
    RetentionCreate,
    ShareCreate,
    SharePublic,
)
from system.api.security import (
    AgencyAccount,
    ServicesDep,
    SourceIp,
    require_role,
    subject,
)
from system.domain.accounts import AccountRole, Principal
from system.domain.evidence import AccessLevel, EvidenceView
from system.service_layer import evidence

router = APIRouter(tags=["evidence"])

GRANTEE_RATE = Rate(burst=20, per_minute=60)
"""Share-link calls per source address: a grantee needs a few, a token guesser many."""

SupervisorAccount = Annotated[Principal, Depends(require_role(AccountRole.SUPERVISOR))]
ShareToken = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


async def grantee_limiter(request: Request) -> TokenBucket:
    bucket: TokenBucket = request.app.state.grantee_limiter
    return bucket


async def grantee_rate_limit(
    bucket: Annotated[TokenBucket, Depends(grantee_limiter)], source_ip: SourceIp
) -> None:
    bucket.take(f"address:{source_ip}")


def _content(view: EvidenceView, chunks: Iterator[bytes]) -> StreamingResponse:
    """The item's bytes, streamed; the store verifies the SHA-256 as the last chunk is read."""
    return StreamingResponse(
        chunks,
        media_type="application/octet-stream",
        headers={
            "X-Content-SHA256": view.sha256,
            "Content-Length": str(view.size_bytes),
            "Content-Disposition": f'attachment; filename="evidence-{view.id}.clip"',
        },
    )


@router.get("/cases/{case_id}/evidence")
async def list_evidence(case_id: Id, me: AgencyAccount, svc: ServicesDep) -> list[EvidencePublic]:
    views = await svc(evidence.list_evidence, officer_id=subject(me), case_id=case_id)
    return [EvidencePublic.of(v) for v in views]


@router.get("/evidence/{evidence_id}")
async def view_evidence(evidence_id: Id, me: AgencyAccount, svc: ServicesDep) -> EvidencePublic:
    view = await svc(evidence.view_evidence, officer_id=subject(me), evidence_id=evidence_id)
    return EvidencePublic.of(view)


@router.get("/evidence/{evidence_id}/content", response_class=StreamingResponse)
async def download_evidence(
    evidence_id: Id, me: AgencyAccount, svc: ServicesDep
) -> StreamingResponse:
    # Two audited calls: the record (for the hash header), then the content.
    view = await svc(evidence.view_evidence, officer_id=subject(me), evidence_id=evidence_id)
    chunks = await svc(evidence.download_evidence, officer_id=subject(me), evidence_id=view.id)
    return _content(view, chunks)


@router.post("/evidence/{evidence_id}/shares", status_code=status.HTTP_201_CREATED)
async def share_evidence(
    evidence_id: Id, body: ShareCreate, me: AgencyAccount, svc: ServicesDep
) -> SharePublic:
    grant = await svc(
        evidence.share_evidence,
        officer_id=subject(me),
        evidence_id=evidence_id,
        grantee_name=body.grantee_name,
        grantee_email=body.grantee_email,
        grantee_org=body.grantee_org,
        access_level=body.access_level,
        outside_agency=body.outside_agency,
        justification=body.justification,
        expires_in=body.expires_in(),
    )
    return SharePublic(share_id=grant.share_id, token=grant.token, expires_at=grant.expires_at)


@router.delete("/shares/{share_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_share(share_id: Id, me: AgencyAccount, svc: ServicesDep) -> None:
    await svc(evidence.revoke_share, officer_id=subject(me), share_id=share_id)


@router.post("/evidence/{evidence_id}/retention")
async def set_retention(
    evidence_id: Id, body: RetentionCreate, me: AgencyAccount, svc: ServicesDep
) -> EvidencePublic:
    view = await svc(
        evidence.set_retention_category,
        officer_id=subject(me),
        evidence_id=evidence_id,
        category=body.category,
    )
    return EvidencePublic.of(view)


@router.post("/evidence/{evidence_id}/legal-hold", status_code=status.HTTP_204_NO_CONTENT)
async def set_legal_hold(
    evidence_id: Id, body: LegalHoldCreate, me: SupervisorAccount, svc: ServicesDep
) -> None:
    await svc(
        evidence.set_legal_hold,
        supervisor_id=subject(me),
        evidence_id=evidence_id,
        hold=body.hold,
        reason=body.reason,
    )


@router.delete("/evidence/{evidence_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_evidence(
    evidence_id: Id, body: EvidenceDeleteCreate, me: AgencyAccount, svc: ServicesDep
) -> None:
    """Delete an item of a closed case; the JSON body carries the reason (EVD-04)."""
    await svc(
        evidence.delete_evidence,
        officer_id=subject(me),
        evidence_id=evidence_id,
        reason=body.reason,
    )


@router.post("/cases/{case_id}/assignments", status_code=status.HTTP_204_NO_CONTENT)
async def assign_officer(
    case_id: Id, body: AssignmentCreate, me: SupervisorAccount, svc: ServicesDep
) -> None:
    await svc(
        evidence.assign_officer,
        supervisor_id=subject(me),
        case_id=case_id,
        officer_id=body.officer_id,
    )


# --- grantees: the share token is the credential (EVD-02) ---------------------------


@router.get("/shared/{token}", dependencies=[Depends(grantee_rate_limit)], tags=["grantee"])
async def view_shared(token: ShareToken, svc: ServicesDep) -> EvidencePublic:
    shared = await svc(evidence.access_shared_evidence, token=token, want=AccessLevel.VIEW)
    return EvidencePublic.of(shared.view)


@router.get(
    "/shared/{token}/content",
    dependencies=[Depends(grantee_rate_limit)],
    response_class=StreamingResponse,
    tags=["grantee"],
)
async def download_shared(token: ShareToken, svc: ServicesDep) -> StreamingResponse:
    shared = await svc(evidence.access_shared_evidence, token=token, want=AccessLevel.DOWNLOAD)
    assert shared.content is not None  # a download share always opens the content
    return _content(shared.view, shared.content)
