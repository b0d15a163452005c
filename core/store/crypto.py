"""Tokens and sealing: what the store keeps is a hash of the token and data only the token opens.

- A token is ``secrets.token_urlsafe(24)``: 192 random bits as 32 URL-safe characters. A delete
  key is made the same way.
- The row key is ``SHA-256("...store/id" || token)`` and the delete check
  ``SHA-256("...store/delete" || key)``: preimages of 192-bit secrets cannot be searched.
- The payload is sealed with AES-256-GCM (NIST SP 800-38D) under a key derived from the token
  with HKDF-SHA-256 (RFC 5869); the row key is the associated data, so a sealed payload cannot
  be moved to another row. Layout: ``FORMAT (1 byte) || nonce (12 bytes) || ciphertext+tag``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.state.view import TOKEN_PATTERN

TOKEN_BYTES = 24
FORMAT = b"\x01"
_NONCE = 12
_ID_LABEL = b"evidence-explorer/store/id\x00"
_DELETE_LABEL = b"evidence-explorer/store/delete\x00"
_KEY_INFO = b"evidence-explorer/store/key/v1"


def new_secret() -> str:
    """A fresh token or delete key: 192 random bits, 32 URL-safe characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def well_formed(secret: str) -> bool:
    """True when ``secret`` has the shape of a token or delete key (32 of [A-Za-z0-9_-])."""
    return isinstance(secret, str) and TOKEN_PATTERN.fullmatch(secret) is not None


def row_id(token: str) -> bytes:
    """The row key of a token: SHA-256 of a label and the token (32 bytes)."""
    return hashlib.sha256(_ID_LABEL + token.encode("ascii")).digest()


def delete_hash(delete_key: str) -> bytes:
    """What the store keeps of a delete key: SHA-256 of a label and the key."""
    return hashlib.sha256(_DELETE_LABEL + delete_key.encode("ascii")).digest()


def same_hash(a: bytes, b: bytes) -> bool:
    """Constant-time comparison of two hashes."""
    return hmac.compare_digest(a, b)


def _key(token: str) -> bytes:
    """The AES-256 key of a token: HKDF-SHA-256(token, info) (RFC 5869), 32 bytes."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO)
    return hkdf.derive(token.encode("ascii"))


def seal(token: str, plaintext: bytes) -> bytes:
    """``plaintext`` encrypted and authenticated under the token's key (AES-256-GCM)."""
    nonce = os.urandom(_NONCE)
    return FORMAT + nonce + AESGCM(_key(token)).encrypt(nonce, plaintext, row_id(token))


def unseal(token: str, sealed: bytes) -> bytes | None:
    """The plaintext of ``sealed``, or None when it was not sealed under this token (or was
    changed since)."""
    if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != FORMAT:
        return None
    nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
    try:
        return AESGCM(_key(token)).decrypt(nonce, body, row_id(token))
    except InvalidTag:
        return None
