"""A third-party SCIM 2.0 server for roster's integration test of its Talkdesk SCIM client.

What: scim2-server 0.8.3 from PyPI (python-scim project, Yaal Coop; Apache-2.0), in-memory
storage, served with the standard library's threaded wsgiref server, plus the Talkdesk user
extension urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User (rolesString, teamsString).
Why: an independent SCIM implementation to test roster's SCIM client against, not our own
emulator.
Install: pip install scim2-server==0.8.3 scim2-models==0.12.3
Usage:   python .ci/scim2_testserver.py [PORT]   (no PORT, or 0: a free port is chosen)
The first stdout line is `listening on http://127.0.0.1:PORT/v2`; the same routes also answer
without the optional /v2 prefix. Auth: any bearer token (or none) is accepted, unless the
environment sets SCIM2_BEARER_TOKEN, then only `Authorization: Bearer <that value>` is.
Stop it with SIGTERM or SIGINT.
"""

import os
import signal
import sys

from wsgiref.simple_server import WSGIRequestHandler, make_server

from scim2_models import Schema, SchemaExtension, ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

TALKDESK = "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User"


def attribute(name: str, description: str) -> dict:
    return {"name": name, "type": "string", "multiValued": False, "description": description,
            "required": False, "caseExact": False, "mutability": "readWrite",
            "returned": "default", "uniqueness": "none"}


schemas = list(load_default_schemas().values())
schemas.append(Schema.model_validate({
    "id": TALKDESK, "name": "TalkdeskUser", "description": "Talkdesk User",
    "attributes": [attribute("rolesString", "Role names, separated by semicolons"),
                   attribute("teamsString", "Team names, separated by semicolons")],
}))
resource_types = list(load_default_resource_types().values())
for resource_type in resource_types:
    if resource_type.id == "User":
        resource_type.schema_extensions.append(
            SchemaExtension(schema_=TALKDESK, required=False))

config = load_default_service_provider_config()
token = os.environ.get("SCIM2_BEARER_TOKEN")
if token:
    config.authentication_schemes = [BEARER_TOKEN_SCHEME]
provider = ScimProvider.from_discovery(schemas, resource_types, config=config)
app = BearerTokenApplication(InMemoryStorage(), provider, service=ScimService(provider),
                             bearer_tokens=[token] if token else [])


class LogHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # one line per request, on stderr
        sys.stderr.write("scim2-server: " + format % args + "\n")


port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with make_server("127.0.0.1", port, app, server_class=ThreadingWSGIServer,
                 handler_class=LogHandler) as server:
    print(f"listening on http://127.0.0.1:{server.server_port}/v2", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
