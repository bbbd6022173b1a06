"""action_resume_session: the late session start after an outage replays the message."""

from __future__ import annotations

from actions.common import ActionResumeSession
from tests.actions.conftest import make_tracker, run


def test_resume_starts_the_session_and_replays_the_message(shop):
    tracker = make_tracker(
        "where is my order", "track_order", slots={"verified": True, "customer_id": "7"}
    )
    _, events = run(ActionResumeSession(), tracker)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "session_started"
    listen = kinds.index("action")
    assert events[listen]["name"] == "action_listen"
    assert kinds[-1] == "user" and listen < len(kinds) - 1
    replay = events[-1]
    assert replay["text"] == "where is my order"
    assert replay["parse_data"]["intent"]["name"] == "track_order"
    assert replay["metadata"]["replayed"] is True
    carried = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert carried["verified"] is True and carried["customer_id"] == "7"
