"""Pseudonyms and the identity vault's encryption."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidTag
from hypothesis import given
from hypothesis import strategies as st

from kvalitetsplatform.ingest.cpr import NORMALISE_SQL
from kvalitetsplatform.warehouse.vault import Pseudonymiser, VaultCipher, normalise_cpr

KEY = b"a-pseudonym-key-for-tests-only-0123456789"


@given(st.text(alphabet="0123456789-ABCXYZ ", min_size=1, max_size=14))
def test_the_fast_hmac_is_hmac_sha256(cpr):
    expected = hmac.new(KEY, normalise_cpr(cpr).encode(), hashlib.sha256).digest()
    assert Pseudonymiser(KEY).digest(normalise_cpr(cpr)) == expected
    long_key = KEY * 3  # longer than SHA-256's block: hashed first, as HMAC says
    assert Pseudonymiser(long_key).digest("x") == hmac.new(long_key, b"x", hashlib.sha256).digest()


def test_patient_key_is_the_first_eight_bytes_signed_and_ignores_the_hyphen():
    p = Pseudonymiser(KEY)
    digest = hmac.new(KEY, b"6707614285", hashlib.sha256).digest()
    assert p.patient_key("670761-4285") == p.patient_key("6707614285") == int.from_bytes(digest[:8], "big",
                                                                                          signed=True)
    assert p.pseudonym("670761-4285") == digest.hex()
    assert Pseudonymiser(b"another key").patient_key("6707614285") != p.patient_key("6707614285")


@given(st.text(alphabet="0123456789-abcXYZ \t", max_size=14))
def test_python_and_sql_normalise_a_cpr_alike(value):
    import duckdb

    sql = duckdb.execute(f"SELECT {NORMALISE_SQL.format(x='?')}", [value]).fetchone()[0]
    assert sql == normalise_cpr(value)


def test_vault_ciphertexts_are_deterministic_bound_to_their_patient_and_tamper_evident():
    cipher = VaultCipher(b"a-vault-key-for-tests-only")
    a = cipher.encrypt("name", "pseudonym-a", "Karen Hansen")
    assert a == cipher.encrypt("name", "pseudonym-a", "Karen Hansen")
    assert a != cipher.encrypt("name", "pseudonym-a", "Karen Jensen")
    assert cipher.decrypt("name", "pseudonym-a", a) == "Karen Hansen"
    assert b"Karen" not in a
    with pytest.raises(InvalidTag):
        cipher.decrypt("name", "pseudonym-b", a)  # moved to another patient
    with pytest.raises(InvalidTag):
        cipher.decrypt("cpr", "pseudonym-a", a)  # moved to another column
    with pytest.raises(InvalidTag):
        cipher.decrypt("name", "pseudonym-a", a[:-1] + bytes([a[-1] ^ 1]))
    with pytest.raises(InvalidTag):
        VaultCipher(b"another vault key").decrypt("name", "pseudonym-a", a)
