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


def test_endpoints_send_the_action_token_without_writing_it(tmp_path) -> None:
    from shopbot.secret_store import with_secrets

    settings = with_secrets(Settings(data_dir=tmp_path / "d"))
    text = write_endpoints(settings).read_text()
    data = yaml.safe_load(text)
    assert data["action_endpoint"]["headers"] == {
        "X-Shopbot-Action-Token": "${SHOPBOT_ACTION_SERVER_TOKEN}"
    }
    assert settings.action_server_token not in text


def test_demo_services_use_configured_ports_and_keep_secrets_off_argv(tmp_path) -> None:
    from shopbot.secret_store import SECRET_FIELDS, with_secrets

    settings = with_secrets(
        Settings(data_dir=tmp_path, web_port=18000, rasa_port=15005, actions_port=15055)
    )
    services = {s.name: s for s in demo_services(settings)}
    assert set(services) == {"generator", "actions", "rasa", "web"}
    rasa = services["rasa"].argv
    assert rasa[1:3] == ["rasa", "serve"]
    assert rasa[rasa.index("--port") + 1] == "15005"
    assert services["actions"].argv[1:3] == ["actions", "serve"]
    assert services["web"].health_url == "http://127.0.0.1:18000/health"
    assert services["actions"].health_url == "http://127.0.0.1:15055/health"
    argv = " ".join(" ".join(s.argv) for s in services.values())
    assert "--cors" not in argv
    for name in SECRET_FIELDS:
        assert getattr(settings, name) not in argv
