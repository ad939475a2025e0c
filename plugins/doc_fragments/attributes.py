# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Module attributes, written once: ``fleetops.iotcentral.attributes`` for modules that change things,
    ``fleetops.iotcentral.attributes.info_module`` for modules that only read. Both are for modules that talk
    to the API, which are all in the ``iotcentral`` action group (tests/test_docs.py checks it)."""

    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  action_group:
    description: Use C(group/fleetops.iotcentral.iotcentral) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - fleetops.iotcentral.iotcentral
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads, so check mode changes nothing about what it does.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: The module only reads.
  action_group:
    description: Use C(group/fleetops.iotcentral.iotcentral) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - fleetops.iotcentral.iotcentral
"""
