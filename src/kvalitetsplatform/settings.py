"""Settings from the environment (KP_*) or a TOML file (KP_CONFIG, default $KP_HOME/config.toml).

Secrets have no defaults in code. In development mode (the default) a missing secret is generated once and kept in
$KP_HOME/secrets.toml so the demo runs with no setup; in production mode (KP_MODE=production) a missing secret, or
one that is the development file's, stops the program with a clear message.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

SECRET_NAMES = ("pseudonym_key", "vault_key", "session_secret")


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message says which and how to set it."""


@dataclass(frozen=True)
class Settings:
    home: Path
    mode: str  # "development" | "production"
    database_url: str
    pseudonym_key: bytes
    vault_key: bytes
    session_secret: bytes

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def deliveries_dir(self) -> Path:
        return self.home / "deliveries"

    @property
    def production(self) -> bool:
        return self.mode == "production"


def _read_toml(path: Path) -> dict:
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def _dev_secrets(home: Path) -> dict[str, str]:
    """Secrets for development only, generated on first use and kept beside the data."""
    path = home / "secrets.toml"
    found = _read_toml(path)
    missing = [n for n in SECRET_NAMES if n not in found]
    if missing:
        home.mkdir(parents=True, exist_ok=True)
        for name in missing:
            found[name] = secrets.token_hex(32)
        path.write_text("".join(f'{k} = "{v}"\n' for k, v in found.items()), encoding="utf-8")
        path.chmod(0o600)
    return found


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("KP_HOME") or Path.home() / ".kvalitetsplatform").expanduser().resolve()
    config = _read_toml(Path(env.get("KP_CONFIG") or home / "config.toml"))

    def get(name: str) -> str | None:
        return env.get(f"KP_{name.upper()}") or config.get(name)

    mode = get("mode") or "development"
    if mode not in ("development", "production"):
        raise ConfigError(f"KP_MODE must be 'development' or 'production', not {mode!r}")
    dev = {} if mode == "production" else _dev_secrets(home)
    values: dict[str, bytes] = {}
    for name in SECRET_NAMES:
        value = get(name) or dev.get(name)
        if not value:
            raise ConfigError(f"KP_{name.upper()} is not set. Production mode has no default secrets: set it in the "
                              f"environment or in {home / 'config.toml'} (at least 32 random bytes, hex).")
        if mode == "production" and (len(value) < 32 or value in _read_toml(home / "secrets.toml").values()):
            raise ConfigError(f"KP_{name.upper()} is too short or is a development secret; production needs its own.")
        values[name] = value.encode("utf-8")
    database_url = get("database_url") or f"sqlite:///{home / 'kp.sqlite'}"
    return Settings(home=home, mode=mode, database_url=database_url, **values)
