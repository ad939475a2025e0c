"""Command line: ``PYTHONPATH=tests python -m emulator [options]``."""

import argparse
import logging
import signal
import sys
import threading

from . import defaults


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m emulator",
                                     description="Local Azure IoT Central data-plane emulator (devices, device "
                                                 "templates) for api-versions %s." % ", ".join(defaults.API_VERSIONS))
    parser.add_argument("--host", default=defaults.DEFAULT_HOST, help="loopback address to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default)")
    parser.add_argument("--port-file", help="write the port to this file once listening")
    parser.add_argument("--app", default=defaults.DEFAULT_APP, help="application name (default %(default)s)")
    parser.add_argument("--rate-limit", type=float, default=defaults.DEFAULT_RATE_LIMIT,
                        help="requests per second per app, token bucket; 0 = off (default %(default)s)")
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429 responses")
    parser.add_argument("--latency-ms", type=int, default=0, help="fixed latency added to every /api request")
    parser.add_argument("--state-file", help="load state from this file at start and save it after every write")
    parser.add_argument("--seed-devices", type=int, default=0, help="create N devices at start")
    parser.add_argument("--seed-prefix", default=defaults.DEFAULT_SEED_PREFIX, help="id prefix of seeded devices")
    parser.add_argument("--seed-template", default=defaults.DEFAULT_SEED_TEMPLATE,
                        help="template of seeded devices ('' = none)")
    parser.add_argument("--templates-file", help="JSON list of extra device templates")
    parser.add_argument("--admin-token", default=defaults.ADMIN_TOKEN)
    parser.add_argument("--reader-token", default=defaults.READER_TOKEN)
    parser.add_argument("--admin-bearer", default=defaults.ADMIN_BEARER)
    parser.add_argument("--reader-bearer", default=defaults.READER_BEARER)
    parser.add_argument("--spec-dir", help="folder with <api-version>/iotcentral.no-examples.json "
                                           "(default <repo>/../shared/specs/iotcentral)")
    parser.add_argument("--no-spec-check", action="store_true", help="do not validate traffic against the spec")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request to stderr")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    from .server import start_emulator

    try:
        handle = start_emulator(
            host=args.host, port=args.port, app=args.app, rate_limit=args.rate_limit, latency_ms=args.latency_ms,
            state_file=args.state_file, seed_devices=args.seed_devices, seed_prefix=args.seed_prefix,
            seed_template=args.seed_template, templates_file=args.templates_file, admin_token=args.admin_token,
            reader_token=args.reader_token, admin_bearer=args.admin_bearer, reader_bearer=args.reader_bearer,
            spec_dir=args.spec_dir, no_spec_check=args.no_spec_check, retry_after=args.retry_after,
            port_file=args.port_file)
    except (ValueError, OSError) as exc:
        print("emulator: %s" % exc, file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum, frame):  # pylint: disable=unused-argument
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("IoT Central emulator listening on %s" % handle.base_url, flush=True)
    while not stop.wait(0.5):
        pass
    handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
