"""Minimal JWT (JWS compact) signing and verification with ``cryptography``.

Enough for what Entra ID does here: sign access tokens (RS256), verify client
assertions signed by a registered certificate (RS256 or PS256, MSAL uses
PS256 with ``x5t#S256`` against Entra) and federated tokens.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class JwtError(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=4)
def signing_key(slot: str = "tokens") -> rsa.RSAPrivateKey:
    """One RSA key per purpose and process: generating keys is the slowest part of start-up."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def encode(claims: dict, key: rsa.RSAPrivateKey, headers: dict | None = None) -> str:
    header = {"alg": "RS256", "typ": "JWT", **(headers or {})}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def decode_unverified(token: str) -> tuple[dict, dict, bytes, bytes]:
    """(header, claims, signing input, signature) of a compact JWS, without checking anything."""
    try:
        head, body, sig = token.split(".")
        header = json.loads(b64url_decode(head))
        claims = json.loads(b64url_decode(body))
        signature = b64url_decode(sig) if sig else b""
    except (ValueError, TypeError) as exc:
        raise JwtError(f"not a JWT: {exc}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("not a JWT: header and payload must be JSON objects")
    return header, claims, f"{head}.{body}".encode(), signature


_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def verify_signature(header: dict, signing_input: bytes, signature: bytes, public_key) -> None:
    """Verify RS*/PS*/ES* signatures; raise :class:`JwtError` when it does not hold."""
    alg = str(header.get("alg", ""))
    hash_cls = _HASHES.get(alg[2:])
    if hash_cls is None:
        raise JwtError(f"unsupported alg {alg!r}")
    try:
        if alg.startswith("RS") and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hash_cls())
        elif alg.startswith("PS") and isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signing_input, padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=padding.PSS.AUTO), hash_cls())
        elif alg.startswith("ES") and isinstance(public_key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
            public_key.verify(der, signing_input, ec.ECDSA(hash_cls()))
        else:
            raise JwtError(f"alg {alg!r} does not match the key type")
    except InvalidSignature:
        raise JwtError("signature does not verify") from None


def public_key_from_pem(pem: str | bytes):
    data = pem.encode() if isinstance(pem, str) else pem
    if b"CERTIFICATE" in data:
        from cryptography import x509

        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def jwk(public_key: rsa.RSAPublicKey, kid: str) -> dict:
    numbers = public_key.public_numbers()

    def _int(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "use": "sig", "kid": kid, "n": _int(numbers.n), "e": _int(numbers.e), "alg": "RS256"}
