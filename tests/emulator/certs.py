"""Certificate handling for the IoT Central emulator.

Deliberately independent of plugins/: the emulator stands in for the service, so it must not share the client's
interpretation of certificates, or a bug in the client's encoding would be mirrored instead of caught.

What the emulator receives in a ``certificate`` field is the base64 of a PEM file's text (what the how-to's convert.js
produces) or the base64 of DER. Proof of possession is checked for real: the verification certificate must carry the
verification code as its subject CN and its signature must verify with the public key of the uploaded certificate.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "common_name",
    "parse_uploaded_certificate",
    "sha1_thumbprint",
    "signature_verifies",
    "verify_proof_of_possession",
]

_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\s.+?-----END CERTIFICATE-----", re.DOTALL)
_B64_CHARS = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")
# A verification certificate made just now on a machine whose clock runs ahead must still be accepted.
_CLOCK_TOLERANCE = datetime.timedelta(minutes=10)


def parse_uploaded_certificate(value, *, field="certificate", allow_raw_pem=False):
    """Turn the API's ``certificate`` string into a ``cryptography.x509.Certificate``.

    Accepts base64 of PEM text or base64 of DER (whitespace and line breaks inside the base64 are ignored). Raw PEM
    text is rejected unless ``allow_raw_pem``. Raises ValueError with a message suitable for an API error response;
    the message never contains the submitted value.
    """
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        try:
            raw = value.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"{field} must be base64 text (of a PEM or DER X.509 certificate)") from None
    else:
        raise ValueError(f"{field} must be a string, not {type(value).__name__}")

    if b"-----BEGIN" in raw:
        if not allow_raw_pem:
            raise ValueError(f"{field} must be base64-encoded (base64 of the PEM text or of the DER bytes), not PEM text")
        payload = raw
    else:
        compact = b"".join(raw.split())
        if not compact:
            raise ValueError(f"{field} is empty")
        if not _B64_CHARS.match(compact) or len(compact) % 4:
            raise ValueError(f"{field} is not valid base64")
        try:
            payload = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{field} is not valid base64") from None

    try:
        if b"-----BEGIN" in payload:
            block = _PEM_BLOCK.search(payload)
            if block is None:
                raise ValueError("no CERTIFICATE block")
            return x509.load_pem_x509_certificate(block.group(0))
        return x509.load_der_x509_certificate(payload)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(f"{field} is not a PEM or DER X.509 certificate") from None


def sha1_thumbprint(cert):
    """SHA-1 over the DER encoding, upper-case hex, as IoT Central reports ``info.sha1Thumbprint``."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()


def common_name(cert):
    """The subject's first CN, or None."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not values:
        return None
    value = values[0].value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def signature_verifies(cert, public_key):
    """Check ``cert``'s signature against ``public_key`` with the algorithm the certificate declares."""
    tbs = cert.tbs_certificate_bytes
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            params = getattr(cert, "signature_algorithm_parameters", None)
            scheme = params if isinstance(params, (padding.PKCS1v15, padding.PSS)) else padding.PKCS1v15()
            public_key.verify(cert.signature, tbs, scheme, cert.signature_hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(cert.signature, tbs, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            public_key.verify(cert.signature, tbs)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True


def _validity(cert):
    start = getattr(cert, "not_valid_before_utc", None)
    end = getattr(cert, "not_valid_after_utc", None)
    if start is None:  # cryptography < 42
        start = cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)
        end = cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return start, end


def verify_proof_of_possession(uploaded_cert, verification_cert_b64, expected_code, *, now=None):
    """Decide whether ``verification_cert_b64`` proves possession of ``uploaded_cert``'s private key.

    ``uploaded_cert`` is the certificate stored for the enrollment group entry (a Certificate, or the string that was
    uploaded). Returns ``(True, "verified")`` or ``(False, reason)``.
    """
    if not expected_code:
        return False, "no verification code has been generated for this certificate"
    if not isinstance(uploaded_cert, x509.Certificate):
        try:
            uploaded_cert = parse_uploaded_certificate(uploaded_cert)
        except ValueError as exc:
            return False, f"stored certificate: {exc}"
    try:
        proof = parse_uploaded_certificate(verification_cert_b64)
    except ValueError as exc:
        return False, str(exc)

    cn = common_name(proof)
    if cn != expected_code:
        return False, "the verification certificate's subject CN does not match the verification code"
    if not signature_verifies(proof, uploaded_cert.public_key()):
        return False, "the verification certificate is not signed by the private key of the uploaded certificate"
    now = now or datetime.datetime.now(datetime.timezone.utc)
    start, end = _validity(proof)
    if now + _CLOCK_TOLERANCE < start:
        return False, "the verification certificate is not valid yet"
    if end <= now:
        return False, "the verification certificate has expired"
    return True, "verified"
