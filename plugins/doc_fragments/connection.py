# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every module (DOCUMENTATION) and by the inventory plugin (PLUGIN)."""

    DOCUMENTATION = r"""
options:
  app:
    description:
      - Subdomain of the IoT Central application, C(myapp) for C(https://myapp.azureiotcentral.com).
      - One of O(app) or O(base_url) is required.
      - If not set, the value of the E(IOTCENTRAL_APP) environment variable is used.
    type: str
  base_url:
    description:
      - Full URL of the application, in front of C(/api), for sovereign clouds, proxies or the local emulator,
        for example C(https://myapp.azureiotcentral.us) or C(http://127.0.0.1:8080). Takes precedence over O(app).
      - If not set, the value of the E(IOTCENTRAL_BASE_URL) environment variable is used.
    type: str
  api_token:
    description:
      - An IoT Central API token, the whole C(SharedAccessSignature sr=...&sig=...&skn=...&se=...) value.
      - Mutually exclusive with O(bearer_token); one of them is required.
      - An expired token is refused before any call is made.
      - If not set, the value of the E(IOTCENTRAL_API_TOKEN) environment variable is used.
    type: str
  bearer_token:
    description:
      - An Azure AD (Microsoft Entra ID) access token for the resource C(https://apps.azureiotcentral.com),
        sent in the C(Authorization) header as a bearer token. A leading C(Bearer ) is accepted and ignored.
      - If not set, the value of the E(IOTCENTRAL_BEARER_TOKEN) environment variable is used.
    type: str
  api_version:
    description:
      - Pin the REST API version. When not set, C(2022-07-31) is used, and calls that need list parameters
        (filter, ordering, page size) or preview-only features use C(2022-10-31-preview).
      - When pinned, that version is used for every call, list parameters are named as that version's
        documentation names them, and preview-only features fail with a message saying so.
      - If not set, the value of the E(IOTCENTRAL_API_VERSION) environment variable is used.
    type: str
    choices: ['2022-07-31', '2022-10-31-preview']
  validate_certs:
    description:
      - Verify the service's TLS certificate. Only turn this off for a test endpoint you control.
      - If not set, the value of the E(IOTCENTRAL_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM bundle of certificate authorities to trust instead of the system store (for TLS-intercepting proxies).
      - It wins over the E(REQUESTS_CA_BUNDLE) and E(CURL_CA_BUNDLE) environment variables, as O(validate_certs=false)
        does; without either, those variables are honoured.
      - A path that does not exist is refused before any request is sent.
      - If not set, the value of the E(IOTCENTRAL_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Read timeout of one HTTP request in seconds; connecting is bounded by the smaller of this and 10 seconds.
      - Transiently failing calls (HTTP 5xx, network errors) are retried with exponential backoff and jitter,
        honouring C(Retry-After), for at most 6 retries and 120 seconds of waiting between attempts (each attempt
        is bounded by this timeout).
      - Throttled calls (HTTP 429) slow the run down rather than end it. Each 429 halves the request rate of the
        process (and of the machine's shared budget) and is retried after at least one second, or after
        C(Retry-After); they are retried until no request of the run got an answer other than 429 for 120 seconds
        (the run's retry budget; at most 100 retries per call). Once that budget is spent, further 429s fail at
        once.
      - A C(Retry-After) longer than 30 seconds fails the call at once instead.
      - If not set, the value of the E(IOTCENTRAL_TIMEOUT) environment variable is used.
    type: float
    default: 30
  allow_insecure_http:
    description:
      - Allow a plain C(http://) O(base_url) to a host that is not loopback. The credential is then sent in clear
        text with every request, so this is refused unless set, before any request is sent.
      - C(http://) to C(localhost), C(127.0.0.0/8) or C(::1) (the local emulator, a local tunnel) never needs it.
      - If not set, the value of the E(IOTCENTRAL_ALLOW_INSECURE_HTTP) environment variable is used.
    type: bool
    default: false
requirements:
  - requests >= 2.25.0 (on the host that runs the module, usually localhost; see the collection's requirements.txt)
notes:
  - The service allows 20 requests per second per application, shared by every token; the client paces itself
    to that and backs off on HTTP 429.
seealso:
  - name: IoT Central REST API
    description: Microsoft's reference for the data-plane REST API.
    link: https://learn.microsoft.com/rest/api/iotcentral/
"""

    # Inventory plugins read options through get_option(), which honours env and vars entries.
    PLUGIN = r"""
options:
  app:
    description:
      - Subdomain of the IoT Central application, C(myapp) for C(https://myapp.azureiotcentral.com).
      - One of O(app) or O(base_url) is required.
    type: str
    env:
      - name: IOTCENTRAL_APP
  base_url:
    description:
      - Full URL of the application, in front of C(/api), for sovereign clouds, proxies or the local emulator.
        Takes precedence over O(app).
    type: str
    env:
      - name: IOTCENTRAL_BASE_URL
  api_token:
    description:
      - An IoT Central API token, the whole C(SharedAccessSignature sr=...&sig=...&skn=...&se=...) value.
      - Mutually exclusive with O(bearer_token). May be a vaulted string or a Jinja expression such as a lookup.
    type: str
    env:
      - name: IOTCENTRAL_API_TOKEN
  bearer_token:
    description:
      - An Azure AD access token for the resource C(https://apps.azureiotcentral.com).
    type: str
    env:
      - name: IOTCENTRAL_BEARER_TOKEN
  api_version:
    description:
      - Pin the REST API version. When not set, list calls use C(2022-10-31-preview) (server-side filtering).
    type: str
    choices: ['2022-07-31', '2022-10-31-preview']
    env:
      - name: IOTCENTRAL_API_VERSION
  validate_certs:
    description:
      - Verify the service's TLS certificate.
    type: bool
    default: true
    env:
      - name: IOTCENTRAL_VALIDATE_CERTS
  ca_path:
    description:
      - PEM bundle of certificate authorities to trust instead of the system store.
    type: path
    env:
      - name: IOTCENTRAL_CA_PATH
  timeout:
    description:
      - Read timeout of one HTTP request in seconds.
      - Transiently failing calls (HTTP 5xx, network errors) are retried with backoff, at most 6 times and for
        120 seconds. Throttled calls (HTTP 429) halve the request rate and are retried until no request of the
        run got through for 120 seconds.
    type: float
    default: 30
    env:
      - name: IOTCENTRAL_TIMEOUT
  allow_insecure_http:
    description:
      - Allow a plain C(http://) O(base_url) to a host that is not loopback (the credential travels in clear text).
        Refused unless set; loopback hosts never need it.
    type: bool
    default: false
    env:
      - name: IOTCENTRAL_ALLOW_INSECURE_HTTP
"""
