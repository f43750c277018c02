"""Pseudonyms and the identity vault.

A patient is known in the warehouse only by `patient_key`: the first 8 bytes of HMAC-SHA256(KP_PSEUDONYM_KEY,
normalised CPR) read as a signed 64-bit integer. It depends on nothing but the key and the CPR, so the same person
gets the same key from any delivery, in any order, through any path (files or FHIR). The full HMAC (hex) is the
`pseudonym`; it lives only in the vault, where a second CPR with the same patient_key would show up as a collision.

The vault (`identity_vault`, in the warehouse file so a delivery loads in one transaction) keeps CPR and name
encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from KP_VAULT_KEY. The nonce is synthetic: an HMAC of
the column and the plaintext under a second derived key. Equal plaintexts therefore give equal ciphertexts (so
loading the same data twice, or through FHIR, gives identical bytes) and a nonce is never reused for a different
plaintext. The associated data binds each ciphertext to its pseudonym and column, so ciphertexts cannot be swapped
between patients. Re-identification (`reveal`) is for the access layer, which audits every call.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kvalitetsplatform.settings import Settings

NONCE_BYTES = 12


def normalise_cpr(cpr: str) -> str:
    """The canonical form a pseudonym is computed from: no hyphen, no surrounding spaces, upper case.

    Ingestion's SQL uses the same rule (`ingest.cpr.NORMALISE_SQL`); a test keeps the two in step."""
    return cpr.strip(" ").replace("-", "").upper()


class Pseudonymiser:
    """HMAC-SHA256 under KP_PSEUDONYM_KEY, with the key's inner and outer pads prepared once (about twice as fast
    as `hmac.new` per value, which matters for six million patients)."""

    def __init__(self, key: bytes):
        if not key:
            raise ValueError("pseudonym key is empty")
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digest(self, normalised_cpr: str) -> bytes:
        inner = self._inner.copy()
        inner.update(normalised_cpr.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def pseudonym(self, cpr: str) -> str:
        return self.digest(normalise_cpr(cpr)).hex()

    def patient_key(self, cpr: str) -> int:
        return patient_key_of(self.digest(normalise_cpr(cpr)))


def patient_key_of(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "big", signed=True)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"kvalitetsplatform identity vault v1 " + purpose).derive(secret)


class VaultCipher:
    def __init__(self, vault_key: bytes):
        if not vault_key:
            raise ValueError("vault key is empty")
        self._aead = AESGCM(_derive(vault_key, b"encryption"))
        self._nonce_key = _derive(vault_key, b"nonce")

    def encrypt(self, column: str, pseudonym: str, plaintext: str) -> bytes:
        data = plaintext.encode("utf-8")
        nonce = hmac.digest(self._nonce_key, column.encode() + b"\0" + data, "sha256")[:NONCE_BYTES]
        return nonce + self._aead.encrypt(nonce, data, f"{column}:{pseudonym}".encode())

    def decrypt(self, column: str, pseudonym: str, blob: bytes) -> str:
        nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, f"{column}:{pseudonym}".encode()).decode("utf-8")


@dataclass(frozen=True)
class Identity:
    patient_key: int
    cpr: str  # normalised: 10 characters, no hyphen
    name: str
    cpr_kind: str


def reveal(settings: Settings, patient_keys: Iterable[int]) -> dict[int, Identity]:
    """Decrypt CPR and name for the given patients. Callers (the access layer) must audit-log every use."""
    from kvalitetsplatform.warehouse import connect

    keys = sorted({int(k) for k in patient_keys})
    if not keys:
        return {}
    backend = connect(settings, read_only=True)
    try:
        vault = backend.table("identity_vault")
        rows = vault.filter(vault.patient_key.isin(keys)).to_pyarrow().to_pylist()
    finally:
        backend.disconnect()
    cipher = VaultCipher(settings.vault_key)
    return {r["patient_key"]: Identity(r["patient_key"], cipher.decrypt("cpr", r["pseudonym"], r["cpr_enc"]),
                                       cipher.decrypt("name", r["pseudonym"], r["name_enc"]), r["cpr_kind"])
            for r in rows}
