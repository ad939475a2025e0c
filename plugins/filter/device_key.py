# -*- coding: utf-8 -*-
# Copyright (c) fleetops engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation is in device_key.yml beside this file.
"""Derive a device's symmetric key from an enrollment group key (DPS group enrollment key derivation)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from ansible.errors import AnsibleFilterError

_BASE64_RE = re.compile(r'^[A-Za-z0-9+/]+={0,2}$')


def _as_text(value, what):
    if isinstance(value, bytes):
        try:
            return value.decode('utf-8')
        except UnicodeError:
            raise AnsibleFilterError('device_key: the %s is not valid UTF-8' % what) from None
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (bool, int, float, list, tuple, dict, set)):
        raise AnsibleFilterError('device_key: the %s must be a string, not %s' % (what, type(value).__name__))
    # Vaulted and other string-like values that are not str subclasses render to their plain text.
    return str(value)


def device_key(group_key, device_id):
    """base64(HMAC-SHA256(key=base64decode(group_key), msg=utf-8(device_id))).

    The group key never appears in an error message: it is a secret that grants every device in the group.
    """
    key_text = ''.join(_as_text(group_key, 'group key').split())
    device_text = _as_text(device_id, 'device ID')
    if not key_text:
        raise AnsibleFilterError('device_key: the group key is empty')
    if not device_text:
        raise AnsibleFilterError('device_key: the device ID is empty')
    if not _BASE64_RE.match(key_text) or len(key_text) % 4:
        raise AnsibleFilterError('device_key: the group key is not valid base64 (expected the primaryKey or secondaryKey '
                                 'of a symmetric-key enrollment group)')
    try:
        key_bytes = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        raise AnsibleFilterError('device_key: the group key is not valid base64') from None
    digest = hmac.new(key_bytes, device_text.encode('utf-8'), hashlib.sha256).digest()
    return base64.b64encode(digest).decode('ascii')


class FilterModule(object):
    def filters(self):
        return {'device_key': device_key}
