"""core.store.crypto against an independent HKDF (RFC 5869 with hmac) and invariants;
core.store.diff on hand-worked tables and random edits; core.store.link."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace

import pandas as pd
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from core.state.view import parse_query
from core.store import Change, crypto
from core.store.diff import diff
from core.store.link import split_data
from tests.unit.store_support import BUNDLED

TOKENS = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=32, max_size=32
)


def _hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 written out: extract with a zero salt, then expand."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + block, i + 1
    return out[:length]


def test_hkdf_rfc5869_case_3_checks_the_reference_implementation() -> None:
    """RFC 5869 appendix A.3 (SHA-256, zero-length salt and info)."""
    okm = _hkdf_sha256(bytes([0x0B] * 22), b"", 42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


@settings(max_examples=25, deadline=None)
@given(token=TOKENS, plaintext=st.binary(max_size=2000))
def test_a_payload_sealed_by_hand_opens_and_ours_opens_by_hand(
    token: str, plaintext: bytes
) -> None:
    """The documented layout: 0x01 || nonce || AES-256-GCM(HKDF(token), aad=row id)."""
    key = _hkdf_sha256(token.encode(), b"evidence-explorer/store/key/v1")
    row = hashlib.sha256(b"evidence-explorer/store/id\x00" + token.encode()).digest()
    assert crypto.row_id(token) == row
    nonce = bytes(range(12))
    by_hand = b"\x01" + nonce + AESGCM(key).encrypt(nonce, plaintext, row)
    assert crypto.unseal(token, by_hand) == plaintext
    ours = crypto.seal(token, plaintext)
    assert len(ours) == len(plaintext) + 1 + 12 + 16
    assert AESGCM(key).decrypt(ours[1:13], ours[13:], row) == plaintext


@settings(max_examples=25, deadline=None)
@given(
    a=TOKENS, b=TOKENS, plaintext=st.binary(min_size=1, max_size=200), flip=st.integers(0, 10**6)
)
def test_another_token_or_a_changed_byte_opens_nothing(
    a: str, b: str, plaintext: bytes, flip: int
) -> None:
    sealed = crypto.seal(a, plaintext)
    if a != b:
        assert crypto.unseal(b, sealed) is None
    i = flip % len(sealed)
    changed = sealed[:i] + bytes([sealed[i] ^ 0x01]) + sealed[i + 1 :]
    assert crypto.unseal(a, changed) is None
    assert crypto.unseal(a, sealed[:-1]) is None
    assert crypto.unseal(a, b"") is None


def test_secrets_carry_192_random_bits_and_have_the_token_shape() -> None:
    made = {crypto.new_secret() for _ in range(2000)}
    assert len(made) == 2000
    for s in list(made)[:50]:
        assert crypto.well_formed(s) and len(base64.urlsafe_b64decode(s)) == 24
    assert not crypto.well_formed("A" * 31) and not crypto.well_formed("A" * 32 + "\n")
    assert not crypto.well_formed(None)  # type: ignore[arg-type]


def test_delete_hash_and_row_id_are_separate_labels() -> None:
    t = crypto.new_secret()
    assert crypto.delete_hash(t) != crypto.row_id(t)
    assert (
        crypto.delete_hash(t)
        == hashlib.sha256(b"evidence-explorer/store/delete\x00" + t.encode()).digest()
    )
    assert crypto.same_hash(crypto.delete_hash(t), crypto.delete_hash(t))


def test_diff_hand_worked() -> None:
    studies = BUNDLED.studies.iloc[:2].reset_index(drop=True)
    outcomes = BUNDLED.outcomes[BUNDLED.outcomes.study_id.isin(studies.study_id)]
    old = replace(BUNDLED, studies=studies, outcomes=outcomes.reset_index(drop=True))
    a, b = studies.loc[0, "study_id"], studies.loc[1, "study_id"]
    new_studies = studies.copy()
    new_studies.loc[1, "year"] = pd.NA
    new_studies.loc[0, "median_fu_months"] = 12.25
    new_studies = pd.concat([new_studies, BUNDLED.studies.iloc[[5]]], ignore_index=True)
    new_outcomes = old.outcomes.copy()
    new_outcomes.loc[0, "note"] = "Table 2"
    new = replace(old, studies=new_studies, outcomes=new_outcomes)
    r0 = old.outcomes.iloc[0]
    t = r0["time_years"]
    key0 = f"{r0['study_id']} / {r0['outcome']} / {r0['kind']} / " + (
        "-" if pd.isna(t) else repr(float(t)).removesuffix(".0")
    )
    old_fu = studies.loc[0, "median_fu_months"]
    old_note = r0["note"]
    assert diff(old, new) == (
        Change(
            "studies",
            a,
            "changed",
            "median_fu_months",
            None if pd.isna(old_fu) else float(old_fu),
            12.25,
        ),
        Change("studies", b, "changed", "year", int(studies.loc[1, "year"]), None),
        Change("studies", BUNDLED.studies.loc[5, "study_id"], "added"),
        Change(
            "outcomes", key0, "changed", "note", None if pd.isna(old_note) else old_note, "Table 2"
        ),
    )
    assert diff(old, old) == ()


def test_split_data_takes_the_token_out_of_any_link_form() -> None:
    assert split_data("?outcome=DFS") == ((), "?outcome=DFS")
    assert split_data("?Data=abc&outcome=DFS") == (("abc",), [("v", "1"), ("outcome", "DFS")])
    assert split_data("https://x.org/app?design=RCT&data=%20abc%20#top") == (
        ("abc",),
        [("v", "1"), ("design", "RCT")],
    )
    assert split_data("data=&v=1") == ((), [("v", "1")])
    assert split_data("data=a&data=b") == (("a", "b"), [("v", "1")])
    assert split_data("?v=2&data=abc") == (("abc",), [("v", "2")])


def test_a_data_link_keeps_its_link_version() -> None:
    """``?data=TOKEN`` without ``v`` (made before v2) reads its time points as ``exact``, as the
    app reads the whole link; with ``v=2`` as today's default (``interp``)."""
    for link, tpoint in (("?data=abc", "exact"), ("?v=2&data=abc", "interp")):
        assert parse_query(split_data(link)[1]).state.tpoint == tpoint
        assert parse_query(link.replace("abc", "A" * 32)).state.tpoint == tpoint


NUMERIC = ("year", "n_rt", "n_ctl", "median_fu_months", "quality_score")


@settings(max_examples=30, deadline=None)
@given(
    edits=st.dictionaries(
        st.tuples(st.integers(0, len(BUNDLED.studies) - 1), st.sampled_from(NUMERIC)),
        st.integers(1, 5000),
        max_size=6,
    )
)
def test_diff_finds_exactly_the_cells_edited_and_reverses(edits: dict) -> None:
    studies = BUNDLED.studies.copy()
    expected = set()
    for (row, col), value in edits.items():
        old = studies.loc[row, col]
        new = float(value) if col == "median_fu_months" else value
        studies.loc[row, col] = new
        if pd.isna(old) or old != new:
            before = (
                None if pd.isna(old) else (float(old) if col == "median_fu_months" else int(old))
            )
            expected.add((studies.loc[row, "study_id"], col, before, new))
    edited = replace(BUNDLED, studies=studies)
    forward = diff(BUNDLED, edited)
    assert {(c.key, c.column, c.old, c.new) for c in forward} == expected
    assert all(c.table == "studies" and c.what == "changed" for c in forward)
    assert {(c.key, c.column, c.new, c.old) for c in diff(edited, BUNDLED)} == expected
