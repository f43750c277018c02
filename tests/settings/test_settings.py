import pytest

from kvalitetsplatform.settings import ConfigError, load_settings


def test_development_generates_secrets_once_and_keeps_them(tmp_path):
    first = load_settings({"KP_HOME": str(tmp_path)})
    again = load_settings({"KP_HOME": str(tmp_path)})
    assert first.pseudonym_key == again.pseudonym_key and len(first.pseudonym_key) >= 32
    assert first.database_url == f"sqlite:///{tmp_path / 'kp.sqlite'}"
    assert (tmp_path / "secrets.toml").stat().st_mode & 0o077 == 0


def test_production_refuses_missing_secrets(tmp_path):
    with pytest.raises(ConfigError, match="KP_PSEUDONYM_KEY"):
        load_settings({"KP_HOME": str(tmp_path), "KP_MODE": "production"})


def test_production_refuses_the_development_secrets(tmp_path):
    dev = load_settings({"KP_HOME": str(tmp_path)})
    env = {"KP_HOME": str(tmp_path), "KP_MODE": "production", "KP_PSEUDONYM_KEY": dev.pseudonym_key.decode(),
           "KP_VAULT_KEY": "v" * 64, "KP_SESSION_SECRET": "s" * 64}
    with pytest.raises(ConfigError, match="development secret"):
        load_settings(env)


def test_production_accepts_its_own_secrets_from_a_config_file(tmp_path):
    (tmp_path / "config.toml").write_text(
        'mode = "production"\npseudonym_key = "%s"\nvault_key = "%s"\nsession_secret = "%s"\n'
        'database_url = "postgresql+psycopg://kp@db/kp"\n' % ("p" * 64, "v" * 64, "s" * 64))
    s = load_settings({"KP_HOME": str(tmp_path)})
    assert s.production and s.pseudonym_key == b"p" * 64 and s.database_url.startswith("postgresql")
