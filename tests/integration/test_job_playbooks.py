"""Jobs and scheduled jobs end to end: real ansible-playbook runs against the emulator over HTTP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("playbook", ["jobs.yml", "scheduled_jobs.yml", "jobs_bad_input.yml"])
def test_job_playbook(run_playbook, fresh_emulator, playbook):
    result = run_playbook(playbook)
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []
