"""TOTP codes (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) from a base32 secret.

The standard algorithm, written out so ``loadtests`` needs nothing of the
system: ``code = HOTP(secret, floor(unix_time / 30))``, where HOTP (RFC 4226)
takes the HMAC-SHA1 of the 8-byte big-endian counter, reads 4 bytes at the
offset named by the digest's last nibble, drops the top bit and keeps the last
6 decimal digits. The server accepts each step once per account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

STEP_S = 30
DIGITS = 6


def decode_secret(secret: str) -> bytes:
    """A base32 secret as authenticator apps show it (padding optional, any case)."""
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def step_at(unix_s: float) -> int:
    return int(unix_s // STEP_S)


def code_for_step(secret: str, step: int) -> str:
    digest = hmac.new(decode_secret(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def totp(secret: str, unix_s: float) -> str:
    """The code for the step holding ``unix_s`` (seconds since the epoch)."""
    return code_for_step(secret, step_at(unix_s))
