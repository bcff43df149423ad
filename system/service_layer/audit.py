"""Reading and verifying the audit chain (SEC-04). Reads are themselves audited."""

from __future__ import annotations

from system.domain.audit import AuditEvent, VerifyResult
from system.service_layer.context import ServiceContext


def verify_audit_chain(ctx: ServiceContext, *, actor: str = "operator:cli") -> VerifyResult:
    """Walk every stream of the chain; the result names the first bad entry, if any."""
    with ctx.uow(read_only=True) as uow:
        result = uow.audit.verify()
    with ctx.uow() as uow:
        uow.audit.record(
            AuditEvent(
                actor=actor,
                role="auditor",
                object="audit:chain",
                action="audit.verify",
                outcome="ok" if result.ok else "broken",
                details={"entries": result.entries},
            ),
            now=ctx.clock.now(),
        )
        uow.commit()
    return result
