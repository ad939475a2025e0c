"""AWX, the way it runs jobs: ansible-runner, with the credential injected by docs/awx-credential-type.yml.

AWX renders a credential type's env injectors with the credential's inputs (a missing field renders as an
empty string) in a Jinja sandbox, and hands the variables to ansible-runner. A job's events are stored and
shown to everyone who can see the job, so the token must be in none of them, nor in the stdout or any
artifact runner writes, even at -vvv. One ansible-core version (the project's) is enough here: the other
versions run the same playbooks and inventories in the matrix tests.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import requests
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CREDENTIAL_TYPE = REPO / "docs" / "awx-credential-type.yml"


def inject(credential_type, inputs):
    """The environment AWX gives a job for a credential of this type (its `env` injectors, rendered)."""
    namespace = dict((field["id"], "") for field in credential_type["inputs"]["fields"])
    namespace.update(inputs)
    sandbox = ImmutableSandboxedEnvironment()
    return dict((name, sandbox.from_string(template).render(**namespace))
                for name, template in credential_type["injectors"]["env"].items())


def test_credential_type_covers_every_connection_credential():
    credential_type = yaml.safe_load(CREDENTIAL_TYPE.read_text(encoding="utf-8"))
    fields = dict((field["id"], field) for field in credential_type["inputs"]["fields"])
    assert set(fields) == {"app", "base_url", "api_token", "bearer_token"}
    assert fields["api_token"].get("secret") and fields["bearer_token"].get("secret")
    assert set(credential_type["injectors"]["env"]) == {"IOTCENTRAL_APP", "IOTCENTRAL_BASE_URL", "IOTCENTRAL_API_TOKEN",
                                                        "IOTCENTRAL_BEARER_TOKEN"}


def secrets_of(token):
    return [token, token.split("sig=")[1].split("&")[0]]


def leaks(private_data_dir, secrets, events):
    """Where a secret shows up: job events, and every file runner wrote under artifacts/ (stdout, job_events/, ...)
    except `command`, runner's record of its own input (the command line and the environment it was given, like
    AWX's own credential store: not output)."""
    found = []
    for event in events:
        text = json.dumps(event)
        found.extend("event %s (%s)" % (event.get("counter"), event.get("event")) for s in secrets if s in text)
    for path in (private_data_dir / "artifacts").rglob("*"):
        if path.is_file() and path.name != "command":
            text = path.read_text(encoding="utf-8", errors="replace")
            found.extend(str(path.relative_to(private_data_dir)) for s in secrets if s in text)
    return found


@pytest.fixture
def job_env(fresh_emulator):
    from emulator.defaults import ADMIN_TOKEN

    credential_type = yaml.safe_load(CREDENTIAL_TYPE.read_text(encoding="utf-8"))
    env = inject(credential_type, {"base_url": fresh_emulator.base_url, "api_token": ADMIN_TOKEN})
    assert env["IOTCENTRAL_API_TOKEN"] == ADMIN_TOKEN and env["IOTCENTRAL_BEARER_TOKEN"] == ""
    env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "dev"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, PATH="%s:/usr/bin:/bin" % Path(sys.executable).parent)
    return env, secrets_of(ADMIN_TOKEN)


def test_playbook_job_through_ansible_runner(tmp_path, job_env, fresh_emulator):
    import ansible_runner

    env, secrets = job_env
    (tmp_path / "project").mkdir()
    shutil.copy(str(REPO / "demo" / "howto.yml"), str(tmp_path / "project" / "howto.yml"))
    runner = ansible_runner.run(private_data_dir=str(tmp_path), playbook="howto.yml", envvars=env, verbosity=3,
                                quiet=True, inventory="localhost ansible_connection=local")
    events = list(runner.events)
    stdout = runner.stdout.read()
    assert runner.rc == 0 and runner.status == "successful", stdout
    assert any(e.get("event") == "runner_on_ok" for e in events)
    assert fresh_emulator.stats()["writes"] > 0 and fresh_emulator.stats()["spec_violations"] == []
    assert not leaks(tmp_path, secrets, events), leaks(tmp_path, secrets, events)


def test_inventory_update_through_ansible_runner(tmp_path, job_env, fresh_emulator):
    import ansible_runner

    env, secrets = job_env
    device = requests.put(fresh_emulator.base_url + "/api/devices/awx-thermostat?api-version=2022-07-31",
                          json={"displayName": "AWX thermostat"}, headers={"Authorization": env["IOTCENTRAL_API_TOKEN"]},
                          timeout=30)
    assert device.status_code == 200, device.text
    source = tmp_path / "fleet.iotcentral.yml"
    source.write_text("plugin: fleetops.iotcentral.devices\nkeyed_groups:\n  - key: iotc_status\n    prefix: status\n",
                      encoding="utf-8")
    # What AWX runs for an inventory update: ansible-inventory --list --export, through runner.
    out, err, rc = ansible_runner.run_command(
        executable_cmd="ansible-inventory", cmdline_args=["-i", str(source), "--list", "--export", "-vvv"],
        private_data_dir=str(tmp_path), envvars=env, quiet=True)
    assert rc == 0, out + err
    inventory = json.loads(out[out.index("{"):])
    assert "awx-thermostat" in inventory["_meta"]["hostvars"]
    assert not [s for s in secrets if s in out or s in err]
    assert not leaks(tmp_path, secrets, [])
    assert fresh_emulator.stats()["requests"] > 0
