from __future__ import annotations

from pathlib import Path

from shopbot.config import Settings


def test_paths_follow_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.db_path == tmp_path / "shop.db"
    assert s.index_dir == tmp_path / "indexes"
    assert s.tracker_db == tmp_path / "tracker.db"


def test_env_overrides(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOPBOT_RETURN_WINDOW_DAYS", "14")
    monkeypatch.setenv("SHOPBOT_DB_PATH", str(tmp_path / "x.db"))
    s = Settings()
    assert s.return_window_days == 14
    assert s.db_path == tmp_path / "x.db"


def test_with_overrides_rederives_paths(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "a").with_overrides(data_dir=tmp_path / "b")
    assert s.db_path == tmp_path / "b" / "shop.db"


def test_describe_hides_secrets_and_says_where_they_live(tmp_path) -> None:
    from shopbot.secret_store import SECRET_FIELDS, with_secrets

    settings = with_secrets(Settings(data_dir=tmp_path))
    described = settings.describe()
    assert str(tmp_path / "secrets.json") in described["secrets_file"]
    for name in SECRET_FIELDS:
        assert described[name].startswith("***")
        assert getattr(settings, name) not in "".join(described.values())
