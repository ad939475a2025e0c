# -*- coding: utf-8 -*-
# Copyright (c) fleetops engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""X.509 helpers for IoT Central enrollment groups.

Loading certificates and private keys in the forms users have them in, the values IoT Central shows and expects
(upper-case SHA-1 thumbprint, base64 of the PEM text), proof-of-possession (verification) certificates and test
certificates equivalent to the Azure IoT SDK's ``create_test_cert.js``.

Error messages name the input (``what``) but never contain certificate or key content: a private key pasted into
the wrong option must not end up in a task result or a log.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime
import re
import traceback

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None


KEY_TYPES = ('rsa', 'ec')
RSA_KEY_SIZE = 2048
# Common names longer than this are rejected by X.509 (ub-common-name) and by cryptography.
MAX_COMMON_NAME_LENGTH = 64
DEFAULT_VALID_DAYS = 365
VERIFICATION_VALID_DAYS = 1
# Certificates are back-dated a little so that a device or service whose clock lags behind ours accepts them at once.
CLOCK_SKEW = datetime.timedelta(minutes=5)

_PEM_CERT_RE = re.compile(
    br'-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----\s.*?-----END (?:X509 |TRUSTED )?CERTIFICATE-----', re.DOTALL)
_PEM_KEY_RE = re.compile(br'-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----\s.*?-----END \1-----', re.DOTALL)
_PEM_ANY_RE = re.compile(br'-----BEGIN ([A-Z0-9 ]+)-----')
_BASE64_RE = re.compile(br'^[A-Za-z0-9+/=_-]+$')

GeneratedCertificate = collections.namedtuple('GeneratedCertificate', ['cert_pem', 'key_pem', 'fullchain_pem', 'certificate'])
GeneratedCertificate.__doc__ = """A freshly generated certificate: PEM text of the certificate, its unencrypted PKCS#8 private key, the
certificate followed by its issuer chain, and the cryptography certificate object."""


# ---------------------------------------------------------------------------------------------------------------------
# Reading inputs
# ---------------------------------------------------------------------------------------------------------------------

def _read_source(content, path, what):
    """Return the raw bytes of exactly one of ``content`` / ``path``."""
    if (content is None) == (path is None):
        raise ValueError('exactly one of content or path must be given for the %s' % what)
    if path is not None:
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            raise ValueError('cannot read the %s file %s: %s' % (what, path, exc.strerror or exc.__class__.__name__)) from None
    if isinstance(content, bytearray):
        content = bytes(content)
    if isinstance(content, str):
        try:
            content = content.encode('utf-8')
        except UnicodeError:
            raise ValueError('the %s is not valid text' % what) from None
    if not isinstance(content, bytes):
        raise ValueError('the %s must be text or bytes, not %s' % (what, type(content).__name__))
    return content


def _unwrap_base64(data):
    """Decode ``data`` if it is base64 text (of PEM text or of DER, as the IoT Central API carries certificates)."""
    compact = b''.join(data.split())
    if not compact or not _BASE64_RE.match(compact):
        return None
    compact = compact.replace(b'-', b'+').replace(b'_', b'/')
    compact += b'=' * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _candidates(data):
    """The ways ``data`` may hold a PEM or DER object: as given, then base64-decoded."""
    result = [data]
    if b'-----BEGIN' not in data:
        decoded = _unwrap_base64(data)
        if decoded:
            result.append(decoded)
    return result


def _pem_kinds(data):
    return [match.group(1).decode('ascii', 'replace') for match in _PEM_ANY_RE.finditer(data)]


# ---------------------------------------------------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------------------------------------------------

def load_certificate_chain(content=None, path=None, what='certificate'):
    """Load every certificate from PEM text (in order), DER bytes, or base64 of either, given as content or a path.

    Returns a non-empty list of ``cryptography.x509.Certificate``. Raises ValueError with a message that names ``what``
    but never repeats the input.
    """
    data = _read_source(content, path, what)
    for blob in _candidates(data):
        if b'-----BEGIN' in blob:
            blocks = _PEM_CERT_RE.findall(blob)
            if not blocks:
                continue
            try:
                return [x509.load_pem_x509_certificate(block) for block in blocks]
            except (ValueError, TypeError, UnsupportedAlgorithm):
                continue
        else:
            try:
                return [x509.load_der_x509_certificate(blob)]
            except (ValueError, TypeError, UnsupportedAlgorithm):
                continue
    hint = ''
    kinds = [kind for blob in _candidates(data) for kind in _pem_kinds(blob)]
    if any('PRIVATE KEY' in kind for kind in kinds):
        hint = ' (it contains a private key, not a certificate)'
    elif kinds:
        hint = ' (it contains PEM blocks of type %s)' % ', '.join(sorted(set(kinds)))
    raise ValueError('the %s is not a PEM or DER X.509 certificate%s' % (what, hint))


def load_certificate(content=None, path=None, what='certificate'):
    """Load one certificate (the first one of a PEM chain) from content or a path; see :func:`load_certificate_chain`."""
    return load_certificate_chain(content=content, path=path, what=what)[0]


def certificate_to_pem(cert):
    """PEM text of ``cert``."""
    return cert.public_bytes(serialization.Encoding.PEM).decode('ascii')


def certificate_to_der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def sha1_thumbprint(cert):
    """SHA-1 of the DER encoding in upper-case hex, the form IoT Central returns in ``info.sha1Thumbprint``."""
    return binascii.hexlify(cert.fingerprint(hashes.SHA1())).decode('ascii').upper()


def api_certificate_payload(cert):
    """The string for the API's ``certificate`` field: base64 of the PEM text, as the how-to's convert.js produces."""
    return base64.b64encode(certificate_to_pem(cert).encode('ascii')).decode('ascii')


def common_name(cert_or_name):
    """The (first) common name of a certificate's subject or of an ``x509.Name``; None when there is none."""
    name = cert_or_name.subject if hasattr(cert_or_name, 'subject') else cert_or_name
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attributes:
        return None
    value = attributes[0].value
    return value.decode('utf-8', 'replace') if isinstance(value, bytes) else value


def not_valid_before(cert):
    """Timezone-aware start of validity (works with cryptography releases before and after the ``*_utc`` API)."""
    if hasattr(cert, 'not_valid_before_utc'):
        return cert.not_valid_before_utc
    return cert.not_valid_before.replace(tzinfo=datetime.timezone.utc)


def not_valid_after(cert):
    """Timezone-aware end of validity."""
    if hasattr(cert, 'not_valid_after_utc'):
        return cert.not_valid_after_utc
    return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def is_expired(cert, now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return not_valid_after(cert) <= now


def is_ca(cert):
    """True when the certificate carries basicConstraints CA:TRUE."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _iso(value):
    return value.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def key_type_name(key):
    """'rsa', 'ec', 'ed25519', 'ed448' or 'unknown' for a public or private key."""
    if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        return 'rsa'
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        return 'ec'
    if isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        return 'ed25519'
    if isinstance(key, (ed448.Ed448PublicKey, ed448.Ed448PrivateKey)):
        return 'ed448'
    return 'unknown'


def certificate_info(cert):
    """A JSON-friendly summary of ``cert`` for module results (public information only)."""
    return {
        'sha1_thumbprint': sha1_thumbprint(cert),
        'subject': cert.subject.rfc4514_string(),
        'issuer': cert.issuer.rfc4514_string(),
        'common_name': common_name(cert),
        'serial_number': '%X' % cert.serial_number,
        'not_before': _iso(not_valid_before(cert)),
        'not_after': _iso(not_valid_after(cert)),
        'is_ca': is_ca(cert),
        'self_signed': is_self_signed(cert),
        'expired': is_expired(cert),
        'public_key_type': key_type_name(cert.public_key()),
    }


def verify_signature(cert, public_key):
    """True when ``cert``'s signature verifies with ``public_key`` (any of RSA PKCS#1 v1.5/PSS, ECDSA, EdDSA)."""
    data = cert.tbs_certificate_bytes
    signature = cert.signature
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            # signature_algorithm_parameters only exists in cryptography >= 41; older releases only produced PKCS#1 v1.5.
            pad = getattr(cert, 'signature_algorithm_parameters', None)
            if not isinstance(pad, (padding.PKCS1v15, padding.PSS)):
                pad = padding.PKCS1v15()
            public_key.verify(signature, data, pad, cert.signature_hash_algorithm)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(public_key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            public_key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def is_issued_by(cert, issuer_cert):
    """True when ``cert`` names ``issuer_cert``'s subject as its issuer and its signature verifies with its key."""
    return cert.issuer == issuer_cert.subject and verify_signature(cert, issuer_cert.public_key())


def is_self_signed(cert):
    return is_issued_by(cert, cert)


# ---------------------------------------------------------------------------------------------------------------------
# Private keys
# ---------------------------------------------------------------------------------------------------------------------

def _to_password(passphrase):
    if passphrase is None or passphrase == '' or passphrase == b'':
        return None
    if isinstance(passphrase, str):
        return passphrase.encode('utf-8')
    return bytes(passphrase)


def _load_key_blob(blob, password):
    if b'-----BEGIN' in blob:
        return serialization.load_pem_private_key(blob, password=password)
    return serialization.load_der_private_key(blob, password=password)


def load_private_key(content=None, path=None, passphrase=None, what='private key'):
    """Load an RSA, EC or EdDSA private key from PEM/DER (or base64 of either), given as content or a path.

    ``passphrase`` decrypts an encrypted key; it is ignored for a key that is not encrypted. Errors are one line,
    distinguish a missing or wrong passphrase from input that is not a key, and never echo the input.
    """
    data = _read_source(content, path, what)
    password = _to_password(passphrase)
    encrypted = False
    for blob in _candidates(data):
        blocks = [match.group(0) for match in _PEM_KEY_RE.finditer(blob)]
        if b'-----BEGIN' in blob and not blocks:
            continue
        for item in blocks or [blob]:
            key = None
            try:
                key = _load_key_blob(item, password)
            except TypeError:
                # cryptography raises TypeError both for "encrypted but no password" and "password for a plain key".
                if password is None:
                    encrypted = True
                    continue
                try:
                    key = _load_key_blob(item, None)
                except (TypeError, ValueError, UnsupportedAlgorithm):
                    continue
            except (ValueError, UnsupportedAlgorithm):
                if password is not None:
                    # Probe without the passphrase: a TypeError then means the key is encrypted and the passphrase wrong.
                    try:
                        _load_key_blob(item, None)
                    except TypeError:
                        encrypted = True
                    except (ValueError, UnsupportedAlgorithm):
                        pass
                continue
            if key_type_name(key) == 'unknown':
                raise ValueError('the %s uses an unsupported key type (use RSA, EC or Ed25519/Ed448)' % what)
            return key
    if encrypted and password is None:
        raise ValueError('the %s is encrypted; a passphrase is required' % what)
    if encrypted:
        raise ValueError('cannot decrypt the %s: wrong passphrase' % what)
    hint = ''
    kinds = [kind for blob in _candidates(data) for kind in _pem_kinds(blob)]
    if any(kind.endswith('CERTIFICATE') for kind in kinds):
        hint = ' (it contains a certificate, not a private key)'
    raise ValueError('the %s is not a PEM or DER private key%s' % (what, hint))


def public_keys_equal(first, second):
    """Compare two public keys by their SubjectPublicKeyInfo encoding."""
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    return first.public_bytes(serialization.Encoding.DER, fmt) == second.public_bytes(serialization.Encoding.DER, fmt)


def key_matches_certificate(private_key, cert):
    """True when ``private_key`` is the key of ``cert`` (its public key equals the certificate's)."""
    try:
        return public_keys_equal(private_key.public_key(), cert.public_key())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False


def generate_private_key(key_type='rsa'):
    """A new RSA-2048 (``rsa``) or P-256 (``ec``) private key."""
    if key_type == 'rsa':
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    if key_type == 'ec':
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError('key_type must be one of %s, not %r' % (', '.join(KEY_TYPES), key_type))


def private_key_to_pem(key, passphrase=None):
    """PKCS#8 PEM text of ``key``, encrypted with ``passphrase`` when one is given."""
    password = _to_password(passphrase)
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode('ascii')


# ---------------------------------------------------------------------------------------------------------------------
# Issuing certificates
# ---------------------------------------------------------------------------------------------------------------------

def _check_common_name(value, what):
    if not isinstance(value, str) or not value:
        raise ValueError('the %s must be a non-empty string' % what)
    length = len(value.encode('utf-8'))
    if length > MAX_COMMON_NAME_LENGTH:
        raise ValueError('the %s is %d bytes long; an X.509 common name holds at most %d' % (what, length, MAX_COMMON_NAME_LENGTH))


def _signing_hash(key):
    # EdDSA keys sign the message itself and take no separate digest.
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        return None
    return hashes.SHA256()


def _check_issuer(ca_cert, ca_key):
    if key_type_name(ca_key) == 'unknown':
        raise ValueError('the CA private key uses an unsupported key type (use RSA, EC or Ed25519/Ed448)')
    if not key_matches_certificate(ca_key, ca_cert):
        raise ValueError('the CA private key does not belong to the CA certificate')


def _build(subject_cn, public_key, issuer_name, signing_key, issuer_public_key, valid_days, ca, now=None):
    if not isinstance(valid_days, int) or isinstance(valid_days, bool) or valid_days < 1:
        raise ValueError('valid_days must be a positive integer')
    now = now or datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name if issuer_name is not None else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False)
    )
    encipherment = isinstance(public_key, rsa.RSAPublicKey)
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                          key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True).add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=encipherment,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                          encipher_only=False, decipher_only=False),
            critical=True).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=True)
    return builder.sign(signing_key, _signing_hash(signing_key))


def _chain_pem(ca_cert, ca_chain):
    if ca_chain:
        certs = list(ca_chain)
        if not is_same_certificate(certs[0], ca_cert):
            certs.insert(0, ca_cert)
        return ''.join(certificate_to_pem(item) for item in certs)
    return certificate_to_pem(ca_cert)


def is_same_certificate(first, second):
    return certificate_to_der(first) == certificate_to_der(second)


def create_root_certificate(name, key_type='rsa', valid_days=DEFAULT_VALID_DAYS):
    """Self-signed root CA (CN ``name``, CA:TRUE), like ``create_test_cert.js root <name>``."""
    _check_common_name(name, 'root certificate name')
    key = generate_private_key(key_type)
    cert = _build(name, key.public_key(), None, key, key.public_key(), valid_days, ca=True)
    cert_pem = certificate_to_pem(cert)
    return GeneratedCertificate(cert_pem, private_key_to_pem(key), cert_pem, cert)


def create_device_certificate(device_id, ca_cert, ca_key, ca_chain=None, key_type='rsa', valid_days=DEFAULT_VALID_DAYS):
    """Device certificate (CN = ``device_id``, clientAuth) signed by the CA, like ``create_test_cert.js device``.

    ``ca_chain`` is an optional list of certificates (the CA certificate and its issuers) for the full-chain PEM.
    """
    _check_common_name(device_id, 'device ID')
    _check_issuer(ca_cert, ca_key)
    if not is_ca(ca_cert):
        raise ValueError('the CA certificate is not a CA (basicConstraints CA:TRUE is missing); devices signed by it would not chain')
    key = generate_private_key(key_type)
    cert = _build(device_id, key.public_key(), ca_cert.subject, ca_key, ca_cert.public_key(), valid_days, ca=False)
    cert_pem = certificate_to_pem(cert)
    return GeneratedCertificate(cert_pem, private_key_to_pem(key), cert_pem + _chain_pem(ca_cert, ca_chain), cert)


def create_verification_certificate(verification_code, ca_cert, ca_key, ca_chain=None, key_type='ec',
                                    valid_days=VERIFICATION_VALID_DAYS):
    """Proof-of-possession certificate: CN = the verification code, issued by ``ca_cert``'s subject, signed by ``ca_key``.

    Equivalent to ``create_test_cert.js verification --ca ... --key ... --nonce <code>``. The subject key only has to
    exist, so an EC key is the default (fast to generate).
    """
    _check_common_name(verification_code, 'verification code')
    _check_issuer(ca_cert, ca_key)
    key = generate_private_key(key_type)
    cert = _build(verification_code, key.public_key(), ca_cert.subject, ca_key, ca_cert.public_key(), valid_days, ca=False)
    cert_pem = certificate_to_pem(cert)
    return GeneratedCertificate(cert_pem, private_key_to_pem(key), cert_pem + _chain_pem(ca_cert, ca_chain), cert)


def make_verification_certificate(ca_cert, ca_key, verification_code, valid_days=VERIFICATION_VALID_DAYS):
    """PEM text of a verification certificate for ``verification_code`` signed by ``ca_key`` (RSA/EC, SHA-256).

    Raises ValueError when ``ca_key`` is not the key of ``ca_cert`` so that a mismatch is caught before any API call.
    """
    return create_verification_certificate(verification_code, ca_cert, ca_key, valid_days=valid_days).cert_pem


def cert_file_stem(name):
    """File name stem used by ``create_test_cert.js`` (npm ``camelcase``): ``sample-device-01`` -> ``sampleDevice01``.

    Separators (``-``, ``_``, ``.``, spaces) are dropped and the letter after each is upper-cased; the first letter is
    lower-cased and an all-capitals name is lower-cased.
    """
    words = [word for word in re.split(r'[-_.\s]+', name.strip()) if word]
    if not words:
        return ''
    if len(words) == 1:
        word = words[0]
        return word.lower() if word.isupper() else word[:1].lower() + word[1:]
    first = words[0]
    result = [first.lower() if first.isupper() else first[:1].lower() + first[1:]]
    for word in words[1:]:
        result.append(word[:1].upper() + (word[1:].lower() if word.isupper() else word[1:]))
    return ''.join(result)
