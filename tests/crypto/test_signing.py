"""Signed JSON documents bound to a context, and the text forms of signing keys."""

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from crypto import SignatureError
from crypto.errors import KeyFormatError
from crypto.signing import SigningKey, VerifyKey, canonical_json, sign_document, verify_document

EXPORT = "tamga/export/v1"
CUSTODY = "tamga/custody/v1"
DOCUMENT: dict[str, Any] = {
    "bundle": "2024-05-01-a",
    "files": [{"name": "évidence.mp4", "sha256": "ab" * 32, "size": 1048576}],
    "count": 1,
    "final": True,
    "note": None,
}


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def _edit(signed: bytes, **changes: Any) -> bytes:
    """Re-serialise a signed document canonically with some fields changed."""
    return canonical_json({**json.loads(signed), **changes})


def test_round_trip() -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, DOCUMENT)
    signer, document = verify_document(signed, EXPORT, [SigningKey.generate().verify_key, key.verify_key])
    assert signer == key.verify_key
    assert document == DOCUMENT
    assert json.loads(signed)["signer"] == str(key.verify_key)


def test_signature_for_one_context_is_refused_for_another() -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, DOCUMENT)
    with pytest.raises(
        SignatureError, match=_exactly(f"document was signed for another purpose, not {CUSTODY}")
    ):
        verify_document(signed, CUSTODY, [key.verify_key])
    # Rewriting the context field does not help: the context is inside the signed bytes.
    with pytest.raises(SignatureError, match=_exactly(f"signature does not verify for {CUSTODY}")):
        verify_document(_edit(signed, context=CUSTODY), CUSTODY, [key.verify_key])


def test_untrusted_signer_is_refused() -> None:
    key, trusted = SigningKey.generate(), SigningKey.generate()
    signed = sign_document(key, EXPORT, DOCUMENT)
    message = f"signed by an untrusted key (fingerprint {key.verify_key.fingerprint})"
    for keys in ([trusted.verify_key], []):
        with pytest.raises(SignatureError, match=_exactly(message)):
            verify_document(signed, EXPORT, keys)


def test_signer_field_swapped_to_a_trusted_key_is_refused() -> None:
    key, trusted = SigningKey.generate(), SigningKey.generate()
    forged = _edit(sign_document(key, EXPORT, DOCUMENT), signer=str(trusted.verify_key))
    with pytest.raises(SignatureError, match=_exactly(f"signature does not verify for {EXPORT}")):
        verify_document(forged, EXPORT, [trusted.verify_key])


def test_duplicate_json_keys_are_refused() -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, {"a": 1})
    duplicated = signed.replace(b'"document":{"a":1}', b'"document":{"a":1,"a":2}')
    assert duplicated != signed
    with pytest.raises(SignatureError, match=_exactly("document has a duplicate JSON key")):
        verify_document(duplicated, EXPORT, [key.verify_key])


@pytest.mark.parametrize(
    "reformat",
    [
        lambda d: json.dumps(d, sort_keys=True, ensure_ascii=False).encode(),
        lambda d: json.dumps(dict(reversed(d.items())), separators=(",", ":"), ensure_ascii=False).encode(),
        lambda d: json.dumps(d, sort_keys=True, separators=(",", ":")).encode(),
        lambda d: canonical_json(d) + b"\n",
        lambda d: b" " + canonical_json(d),
    ],
    ids=["spaces", "unsorted", "ascii-escaped", "trailing-newline", "leading-space"],
)
def test_non_canonical_json_is_refused(reformat: Callable[[dict[str, Any]], bytes]) -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, {"z": "é", "a": [1, 2]})
    altered = reformat(json.loads(signed))
    assert altered != signed
    with pytest.raises(SignatureError, match=_exactly("document is not in canonical form")):
        verify_document(altered, EXPORT, [key.verify_key])


@pytest.mark.parametrize("document", [1.5, {"a": 0.0}, [1, [2.5]], {"a": {"b": 1e3}}])
def test_floats_are_refused_when_signing(document: Any) -> None:
    with pytest.raises(ValueError, match=_exactly("floats are not allowed in signed documents")):
        sign_document(SigningKey.generate(), EXPORT, document)


@pytest.mark.parametrize("number", [b"1.5", b"1e3", b"-0.0", b"1E+2"])
def test_floats_are_refused_when_verifying(number: bytes) -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, {"size": 7})
    with_float = signed.replace(b'"size":7', b'"size":' + number)
    assert with_float != signed
    with pytest.raises(SignatureError, match=_exactly("document is not valid JSON")):
        verify_document(with_float, EXPORT, [key.verify_key])


@pytest.mark.parametrize("data", [b"NaN", b'{"a":Infinity}', b'{"a":-Infinity}', b'"\\ud800"'])
def test_json_constants_and_lone_surrogates_are_refused_as_signature_errors(data: bytes) -> None:
    with pytest.raises(SignatureError):
        verify_document(data, EXPORT, [SigningKey.generate().verify_key])


@pytest.mark.parametrize("index", [0, 31, 63])
def test_flipped_signature_byte_is_refused(index: int) -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, DOCUMENT)
    signature = bytearray(base64.b64decode(json.loads(signed)["signature"]))
    signature[index] ^= 0x01
    tampered = _edit(signed, signature=base64.b64encode(bytes(signature)).decode())
    with pytest.raises(SignatureError, match=_exactly(f"signature does not verify for {EXPORT}")):
        verify_document(tampered, EXPORT, [key.verify_key])


def test_edited_document_is_refused() -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, DOCUMENT)
    tampered = _edit(signed, document={**DOCUMENT, "count": 2})
    with pytest.raises(SignatureError, match=_exactly(f"signature does not verify for {EXPORT}")):
        verify_document(tampered, EXPORT, [key.verify_key])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff", "document is not valid JSON"),
        (b"{", "document is not valid JSON"),
        (b"[]", "not a signed document"),
        (b'{"context":"tamga/export/v1"}', "not a signed document"),
        (
            b'{"context":"tamga/export/v1","document":1,"signature":"%%%","signer":"tamgapub1x"}',
            "signed document is malformed",
        ),
    ],
    ids=["not-utf8", "not-json", "list", "missing-fields", "bad-signer-and-signature"],
)
def test_malformed_documents_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SignatureError, match=_exactly(message)):
        verify_document(data, EXPORT, [SigningKey.generate().verify_key])


def test_short_signature_is_refused() -> None:
    key = SigningKey.generate()
    signed = sign_document(key, EXPORT, DOCUMENT)
    tampered = _edit(signed, signature=base64.b64encode(bytes(63)).decode())
    with pytest.raises(SignatureError, match=_exactly(f"signature does not verify for {EXPORT}")):
        verify_document(tampered, EXPORT, [key.verify_key])


@pytest.mark.parametrize("context", ["", "a\x00b"])
def test_context_is_required_and_has_no_nul(context: str) -> None:
    with pytest.raises(ValueError, match=_exactly("a context string is required and may not hold NUL")):
        sign_document(SigningKey.generate(), context, DOCUMENT)


def test_key_text_forms_round_trip() -> None:
    key = SigningKey.generate()
    text = key.to_text()
    assert text.startswith("TAMGA-SIGNING-KEY-1")
    assert SigningKey.parse(f" {text}\n").verify_key == key.verify_key
    public = str(key.verify_key)
    assert public.startswith("tamgapub1")
    assert VerifyKey.parse(public) == key.verify_key
    assert hash(VerifyKey.parse(public)) == hash(key.verify_key)
    assert len(key.verify_key.key_id) == 16
    assert re.fullmatch(r"([0-9A-F]{4} ){7}[0-9A-F]{4}", key.verify_key.fingerprint)


def test_repr_never_contains_the_secret() -> None:
    key = SigningKey.generate()
    text = key.to_text()
    for shown in (repr(key), str(key), f"{key!r}", repr([key])):
        assert text not in shown
        assert text.lower() not in shown
        assert text[len("TAMGA-SIGNING-KEY-1") :] not in shown.upper()
    assert repr(key) == f"SigningKey(verify_key={key.verify_key})"


@pytest.mark.parametrize(
    "text",
    [
        lambda k: str(k.verify_key),
        lambda k: k.to_text().lower(),
        lambda k: k.to_text()[:-1],
        lambda k: k.to_text()[:-1] + ("Q" if k.to_text()[-1] != "Q" else "P"),
    ],
    ids=["verify-key", "lowercase", "truncated", "bad-checksum"],
)
def test_malformed_signing_key_is_refused(text: Callable[[SigningKey], str]) -> None:
    with pytest.raises(KeyFormatError, match=_exactly("malformed signing key")):
        SigningKey.parse(text(SigningKey.generate()))


@pytest.mark.parametrize(
    "text",
    [
        lambda k: k.to_text(),
        lambda k: str(k.verify_key).upper(),
        lambda k: str(k.verify_key)[:-1],
        lambda k: "age" + str(k.verify_key)[len("tamgapub") :],
    ],
    ids=["signing-key", "uppercase", "truncated", "age-recipient-prefix"],
)
def test_malformed_verify_key_is_refused(text: Callable[[SigningKey], str]) -> None:
    with pytest.raises(
        KeyFormatError, match=_exactly("malformed verify key: expected a tamgapub1... string")
    ):
        VerifyKey.parse(text(SigningKey.generate()))
