"""Puts tests/ on sys.path so the ``emulator`` package imports, and shares its fixtures."""

import os
import sys

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# pylint: disable=unused-import,wrong-import-position
from emulator.testing import (admin_headers, emulator_module, emulator_session, fresh_emulator,  # noqa: E402,F401
                              reader_headers)
