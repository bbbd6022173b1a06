from __future__ import annotations

import yaml

from shopbot.config import Settings
from shopbot.supervisor import demo_services, write_endpoints


def test_endpoints_follow_settings(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    path = write_endpoints(settings)
    data = yaml.safe_load(path.read_text())
    assert data["action_endpoint"]["url"] == settings.action_server_url
    assert data["tracker_store"]["db"] == str((tmp_path / "d" / "tracker.db").resolve())


def test_demo_services_use_configured_ports_and_token(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, web_port=18000, rasa_port=15005, rasa_token="t0k")
    services = {s.name: s for s in demo_services(settings)}
    assert set(services) == {"generator", "actions", "rasa", "web"}
    rasa = services["rasa"].argv
    assert rasa[rasa.index("--port") + 1] == "15005"
    assert rasa[rasa.index("--auth-token") + 1] == "t0k"
    assert "--enable-api" in rasa and "--cors" in rasa
    assert services["web"].health_url == "http://127.0.0.1:18000/health"
