# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Which part of a device a property or command module addresses: the device, a component, an IoT Edge module."""

    DOCUMENTATION = r"""
options:
  device_id:
    description:
      - Device id.
    type: str
    required: true
    aliases: [id]
  component:
    description:
      - Name of a component, as the device template (or the template of O(module)) declares it, for example
        C(thermostat1). Without it, the device's (or the module's) root interface.
    type: str
  module:
    description:
      - Name of an IoT Edge module of the device (an C(EdgeModule) relationship of its template).
    type: str
"""
