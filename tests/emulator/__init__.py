"""Local Azure IoT Central data-plane emulator for the fleetops.iotcentral tests.

Run ``PYTHONPATH=tests python -m emulator --help`` or use
:func:`emulator.server.start_emulator` from Python. See README.md.
"""

__all__ = ["start_emulator"]


def start_emulator(**options):
    from .server import start_emulator as _start

    return _start(**options)
