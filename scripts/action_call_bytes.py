"""Size of the bodies Rasa posts to the action server, with and without the selective domain.

Usage (from the repository root, with the shop's Rasa model and a tracker store that holds
conversations, e.g. the work folder of ``shopbot bench turns --keep``)::

    python scripts/action_call_bytes.py bot/models/shopbot-<fingerprint>.tar.gz TRACKER_DB

For every conversation it builds, at the conversation's last state, the body of a call to an
ordinary action (``action_search_products``) and to a form validator
(``validate_return_form``) as Rasa 3.6's ``RemoteAction`` does, once with
``enable_selective_domain`` off and once on, and prints their mean, median and largest size.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tarfile

from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

ACTIONS = ("action_search_products", "validate_return_form")


async def main(model: str, db: str) -> None:
    with tarfile.open(model) as archive:
        member = archive.extractfile("components/domain_provider/domain.yml")
        assert member is not None
        domain = Domain.from_yaml(member.read().decode())
    store = SQLTrackerStore(domain, dialect="sqlite", db=db)
    trackers = [await store.retrieve(key) for key in await store.keys()]
    domain_bytes = len(json.dumps(domain.as_dict()).encode())
    print(f"{len(trackers)} conversations; the domain alone is {domain_bytes} bytes")
    for selective in (False, True):
        endpoint = EndpointConfig("http://127.0.0.1/webhook", enable_selective_domain=selective)
        for name in ACTIONS:
            action = RemoteAction(name, endpoint)
            sizes = [
                len(json.dumps(action._action_call_format(t, domain)).encode())
                for t in trackers
                if t is not None
            ]
            print(
                f"selective domain {'on ' if selective else 'off'} {name:24} "
                f"mean {statistics.mean(sizes) / 1024:.1f} KB, "
                f"median {statistics.median(sizes) / 1024:.1f} KB, max {max(sizes) / 1024:.1f} KB"
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
