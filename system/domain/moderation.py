"""Moderation: the lint that helps a moderator, and the checklist they fill in.

The lint only *flags* suspect text (REQ-07); the moderator decides. The
checklist is the moderator's own judgement of REQ-06 and REQ-07, stored with
the decision. A request can be approved only when every item is affirmed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from system.domain.errors import Problem

CHECKLIST_ITEMS: dict[str, str] = {
    "specific_incident": "The request concerns one specific incident under the agency's case.",
    "lawful_purpose": (
        "It does not seek footage of protests, demonstrations, religious or political "
        "gatherings, and is not a general announcement (REQ-06)."
    ),
    "no_race_only_description": "No person is described by race or ethnicity alone (REQ-07).",
    "no_victim_pii": "The text holds no personal information about the victim (REQ-07).",
    "no_pressure": "The message does not pressure residents to share (REQ-07, CON-06).",
    "proportionate_scope": "The area and window are no larger than the incident needs.",
}

_PROHIBITED = re.compile(
    r"\b(protest(er|ers|s)?|demonstrat(ion|ions|or|ors)|rall(y|ies)|march(es|ers)?|"
    r"picket(s|ing)?|vigil|church|mosque|synagogue|temple|worship|prayer|religious|"
    r"political|campaign|election|polling|union meeting|general announcement|"
    r"community announcement|newsletter)\b",
    re.IGNORECASE,
)
_RACE = re.compile(
    r"\b(black|white|hispanic|latino|latina|latinx|asian|african[- ]american|"
    r"arab|middle[- ]eastern|caucasian|indian|native american)\b",
    re.IGNORECASE,
)
_PERSON = re.compile(r"\b(male|female|man|men|woman|women|guy|person|people|suspect|kid|teen)s?\b")
_DESCRIPTORS = re.compile(
    r"\b(wearing|shirt|hoodie|jacket|hat|cap|jeans|pants|shorts|shoes|sneakers|backpack|"
    r"bag|tall|short|heavy|thin|beard|tattoo|glasses|car|van|truck|sedan|suv|bike|"
    r"bicycle|scooter|plate|\d+\s*(ft|feet|'|in|lbs?))\b",
    re.IGNORECASE,
)
_PII = [
    ("phone number", re.compile(r"\b\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}\b")),
    ("email address", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")),
    (
        "street address",
        re.compile(
            r"\b\d{1,6}\s+(?:[A-Z][a-z]+\s){1,3}(?:St|Street|Ave|Avenue|Rd|Road|Ln|Lane|Dr|"
            r"Drive|Ct|Court|Pl|Place|Blvd|Boulevard|Way|Ter|Terrace)\b\.?"
        ),
    ),
    ("date of birth", re.compile(r"\b(dob|date of birth|born on)\b", re.IGNORECASE)),
    ("social security number", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("victim's name", re.compile(r"\bvictim(?:'s)?\s+(?:name|is|named)\b", re.IGNORECASE)),
]
_PRESSURE = re.compile(
    r"\b(must|required|requirement|obligated|obligation|mandatory|immediately|"
    r"failure to|you have to|you need to|compelled|subpoena|warrant|penalt(y|ies)|"
    r"obstruct(ion|ing)?|law requires|legally|comply|non-?compliance|last chance|"
    r"urgent(ly)?|asap|don't ignore|do not ignore)\b",
    re.IGNORECASE,
)


def lint(*texts: str) -> tuple[str, ...]:
    """Flags for a moderator, as ``"kind: detail"`` strings, deduplicated, in order found."""
    flags: list[str] = []
    for text in texts:
        for match in _PROHIBITED.finditer(text):
            flags.append(f"prohibited_purpose: mentions '{match.group(0)}'")
        for sentence in re.split(r"(?<=[.!?;])\s+", text):
            race = _RACE.search(sentence)
            if race and _PERSON.search(sentence) and not _DESCRIPTORS.search(sentence):
                flags.append(
                    f"race_only_description: '{race.group(0)}' describes a person "
                    "with no other descriptor"
                )
        for label, pattern in _PII:
            if pattern.search(text):
                flags.append(f"victim_pii: looks like a {label}")
        for match in _PRESSURE.finditer(text):
            flags.append(f"pressuring_language: '{match.group(0)}'")
    return tuple(dict.fromkeys(flags))


def checklist_problems(checklist: Mapping[str, object], *, approving: bool) -> list[Problem]:
    """The checklist must answer every item with true/false; approval needs all true."""
    found: list[Problem] = []
    unknown = sorted(set(checklist) - set(CHECKLIST_ITEMS))
    missing = sorted(set(CHECKLIST_ITEMS) - set(checklist))
    if unknown:
        found.append(Problem("checklist", "REQ-06", f"unknown items: {', '.join(unknown)}"))
    if missing:
        found.append(Problem("checklist", "REQ-06", f"missing items: {', '.join(missing)}"))
    not_bool = sorted(k for k, v in checklist.items() if not isinstance(v, bool))
    if not_bool:
        found.append(
            Problem("checklist", "REQ-06", f"items must be true or false: {', '.join(not_bool)}")
        )
    if approving and not found:
        failed = sorted(k for k, v in checklist.items() if v is not True)
        if failed:
            found.append(
                Problem(
                    "checklist",
                    "REQ-06",
                    f"cannot approve with failed checklist items: {', '.join(failed)}",
                )
            )
    return found
