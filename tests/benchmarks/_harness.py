"""Shared plumbing for the benchmarks: an emulator enforcing the service's rate limit, ansible-playbook runs,
and one printed row per measurement.

Benchmarks print figures and never assert times: machines differ, and a number that drifts is a finding to
read in context, not a test failure. They exit non-zero only when a run itself fails (a playbook error).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parents[1]
TESTS = REPO / "tests"
PLAYBOOKS = BENCH_DIR / "playbooks"
BIN = Path(sys.executable).parent
SERVICE_RATE = 20.0
TEMPLATE = "dtmi:contoso:Thermostat;1"

for _entry in (str(TESTS), str(REPO / ".build" / "dev")):
    if _entry not in sys.path:
        sys.path.insert(0, _entry)


def ensure_dev_tree():
    """The symlinked collections tree ansible-playbook loads the collection from (as tests/conftest.py makes it)."""
    link = REPO / ".build" / "dev" / "ansible_collections" / "fleetops" / "iotcentral"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(str(REPO), str(link))
        except FileExistsError:
            pass
    return REPO / ".build" / "dev"


def machine():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ansible = subprocess.run([str(BIN / "ansible"), "--version"], capture_output=True, text=True, check=False)
    core = ansible.stdout.splitlines()[0].strip() if ansible.stdout else "ansible-core ?"
    return "nproc %d, %s, Python %s, %s" % (os.cpu_count() or 0, cpu, platform.python_version(), core)


# Every benchmark runs at each of these latencies (the emulator's --latency-ms, added to every /api request): no
# latency, and a real Azure round trip.
DEFAULT_LATENCIES = "0,80"


def bench_parser(doc):
    """The options every benchmark takes: ``--latency`` (milliseconds per request, comma-separated; one pass of the
    benchmark per value, default 0 and 80) and ``--scale`` (a factor on its device counts, for a quick run)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument("--latency", default=DEFAULT_LATENCIES,
                        help="milliseconds the emulator adds to every request, comma-separated; one pass per value "
                             "(default %(default)s)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the benchmark's device counts by this (for example 0.1 for a quick run)")
    return parser


def latencies(args):
    return [int(value) for value in str(args.latency).split(",") if value.strip()]


def scaled(count, args, minimum=1):
    return max(minimum, int(round(count * args.scale)))


def latency_header(latency_ms):
    """The line that opens one latency's pass, then the column header."""
    print("-- emulator latency %d ms per request" % latency_ms, flush=True)
    print(HEADER, flush=True)


def for_each_latency(args, scenarios, rate_limit=SERVICE_RATE, header=True):
    """``scenarios(emulator)`` once per ``--latency``, each against a fresh emulator with that latency."""
    for latency in latencies(args):
        emulator = Emulator(rate_limit=rate_limit, latency_ms=latency)
        try:
            if header:
                latency_header(latency)
            else:
                print("-- emulator latency %d ms per request" % latency, flush=True)
            scenarios(emulator)
        finally:
            emulator.stop()


class Emulator:
    """The emulator CLI in a subprocess (its own interpreter and GIL), enforcing ``rate_limit`` requests/second and
    adding ``latency_ms`` to every request."""

    def __init__(self, rate_limit=SERVICE_RATE, latency_ms=0):
        from emulator.testing import start_cli_emulator  # pylint: disable=import-outside-toplevel

        self.latency_ms = latency_ms
        self.handle = start_cli_emulator("--rate-limit", str(rate_limit), "--latency-ms", str(latency_ms))
        self.base_url = self.handle.base_url
        self.session = requests.Session()

    def stats(self):
        return self.session.get(self.base_url + "/__emulator__/stats", timeout=30).json()

    def reset_stats(self):
        self.session.post(self.base_url + "/__emulator__/stats/reset", timeout=30).raise_for_status()

    def reset(self):
        self.session.post(self.base_url + "/__emulator__/reset", timeout=30).raise_for_status()
        self.reset_stats()

    def seed(self, count, **fields):
        body = dict(fields, count=count)
        resp = self.session.post(self.base_url + "/__emulator__/seed", json=body, timeout=300)
        resp.raise_for_status()
        return resp.json()

    def stop(self):
        self.handle.stop()


class Playbook:
    """Runs ansible-playbook against an emulator; the device list goes in a JSON extra-vars file."""

    def __init__(self, emulator):
        from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel

        self.emulator = emulator
        self.env = dict(os.environ)
        self.env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(ensure_dev_tree()),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "IOTCENTRAL_BASE_URL": emulator.base_url,
            "IOTCENTRAL_API_TOKEN": ADMIN_TOKEN,
        })
        self.env.pop("IOTCENTRAL_APP", None)

    def run(self, name, variables):
        """Run one playbook; returns (wall seconds, stdout)."""
        wall, outputs = self.run_parallel([(name, variables)])
        return wall, outputs[0]

    def run_parallel(self, runs):
        """Start every (playbook, variables) at once; returns (wall seconds until the last ends, [stdout, ...])."""
        files = []
        procs = []
        try:
            for name, variables in runs:
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
                    json.dump(variables, handle)
                files.append(handle.name)
            started = time.monotonic()
            for (name, _variables), vars_file in zip(runs, files):
                cmd = [str(BIN / "ansible-playbook"), str(PLAYBOOKS / name), "-e", "@" + vars_file]
                procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                              env=self.env, cwd=str(REPO)))
            outputs = [proc.communicate() for proc in procs]
            wall = time.monotonic() - started
        finally:
            for vars_file in files:
                os.unlink(vars_file)
        for (name, _variables), proc, (stdout, stderr) in zip(runs, procs, outputs):
            if proc.returncode != 0:
                sys.stdout.write(stdout[-4000:] + stderr[-4000:])
                raise SystemExit("%s failed (exit %d)" % (name, proc.returncode))
        return wall, [stdout for stdout, _stderr in outputs]


def fleet(count, prefix="dev", start=1, **fields):
    """``count`` device specs ``<prefix>-00001``..., width 5 like the emulator's seed endpoint."""
    return [dict(fields, id="%s-%05d" % (prefix, number)) for number in range(start, start + count)]


def result_of(stdout):
    """The JSON a bench playbook prints as ``msg: "BENCH-RESULT {...}"`` (counts and requests of the module)."""
    marker = "BENCH-RESULT "
    for line in stdout.splitlines():
        line = line.strip()
        if marker in line and line.startswith('"msg": '):
            text = json.loads(line[len('"msg": '):])
            return json.loads(text.split(marker, 1)[1])
    raise SystemExit("no BENCH-RESULT in playbook output:\n" + stdout[-3000:])


HEADER = "%-44s %8s %9s %6s %8s %8s %10s" % ("scenario", "wall s", "requests", "429s", "floor s", "ratio", "failed")


def row(name, wall, stats, failed="-"):
    """One line: wall time, requests the emulator counted, 429s, floor (requests needed / 20 per second), ratio."""
    needed = stats["requests"] - stats["throttled"]
    floor = needed / SERVICE_RATE
    ratio = "%.2fx" % (wall / floor) if floor else "-"
    line = "%-44s %8.2f %9d %6d %8.2f %8s %10s" % (name, wall, stats["requests"], stats["throttled"], floor, ratio, failed)
    print(line, flush=True)
    return line


def check_violations(stats):
    if stats["spec_violations"]:
        print("  spec violations: %d, first: %s" % (len(stats["spec_violations"]), stats["spec_violations"][0]))
