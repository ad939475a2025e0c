"""Default settings shared by the CLI, the in-process API and the tests.

The tokens are fixed so that playbooks, demos and tests can talk to any emulator
instance without extra plumbing. They are not secrets: they only open a local
test server bound to the loopback interface.
"""

ADMIN_TOKEN = (
    "SharedAccessSignature sr=fleetops-emulator&sig=ZW11bGF0b3ItYWRtaW4tc2lnbmF0dXJl"
    "&skn=admin&se=4102444800000"
)
READER_TOKEN = (
    "SharedAccessSignature sr=fleetops-emulator&sig=ZW11bGF0b3ItcmVhZGVyLXNpZ25hdHVyZQ"
    "&skn=reader&se=4102444800000"
)
ADMIN_BEARER = "emulator-admin-bearer-token"
READER_BEARER = "emulator-reader-bearer-token"

STABLE_VERSION = "2022-07-31"
PREVIEW_VERSION = "2022-10-31-preview"
API_VERSIONS = (STABLE_VERSION, PREVIEW_VERSION)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_APP = "fleetops-emulator"
DEFAULT_RATE_LIMIT = 20
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
DEFAULT_SEED_PREFIX = "dev"
DEFAULT_SEED_TEMPLATE = "dtmi:contoso:Thermostat;1"
