"""Notification e-mails through SMTP. A notification carries a link to the report in the library, never the PDF:
the report opens after sign-in, for members of its audience only.

Settings (environment or $KP_HOME/config.toml, like the other KP_* settings):
KP_SMTP_HOST (required to send), KP_SMTP_PORT (default 25), KP_SMTP_SENDER (the From address, required),
KP_SMTP_USER / KP_SMTP_PASSWORD (optional login), KP_SMTP_STARTTLS (1 to upgrade the connection),
KP_BASE_URL (the platform's address used in links, default http://localhost:8000).
"""

from __future__ import annotations

import os
import smtplib
import tomllib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path


class MailError(RuntimeError):
    """Mail cannot be sent: settings missing or the server refused; the message says which (Danish)."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    base_url: str
    user: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def load(cls, home: Path, env: dict[str, str] | None = None) -> MailSettings:
        env = dict(os.environ if env is None else env)
        path = Path(env.get("KP_CONFIG") or home / "config.toml")
        config = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

        def get(name: str) -> str | None:
            return env.get(f"KP_{name.upper()}") or (str(config[name]) if name in config else None)

        host, sender = get("smtp_host"), get("smtp_sender")
        if not host or not sender:
            raise MailError("KP_SMTP_HOST og KP_SMTP_SENDER skal være sat for at sende besked om nye rapporter "
                            f"(i miljøet eller i {path}).")
        port = get("smtp_port") or "25"
        if not port.isdigit():
            raise MailError(f"KP_SMTP_PORT skal være et portnummer, ikke {port!r}")
        return cls(host, int(port), sender, (get("base_url") or "http://localhost:8000").rstrip("/"),
                   get("smtp_user"), get("smtp_password"), (get("smtp_starttls") or "0") in ("1", "true", "yes"))


@dataclass(frozen=True)
class Notice:
    to: str
    subject: str
    text: str


class Mailer:
    """Sends notices over one SMTP connection per batch."""

    def __init__(self, settings: MailSettings):
        self.settings = settings

    def send(self, notices: list[Notice]) -> list[tuple[Notice, str | None]]:
        """Send each notice; returns (notice, None) when accepted, or (notice, reason) when refused."""
        if not notices:
            return []
        s = self.settings
        results: list[tuple[Notice, str | None]] = []
        try:
            with smtplib.SMTP(s.host, s.port, timeout=30) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.user:
                    smtp.login(s.user, s.password or "")
                for notice in notices:
                    message = EmailMessage()
                    message["From"] = s.sender
                    message["To"] = notice.to
                    message["Subject"] = notice.subject
                    message["Date"] = formatdate(localtime=True)
                    message["Message-ID"] = make_msgid(domain=s.sender.rsplit("@", 1)[-1])
                    message.set_content(notice.text)
                    try:
                        smtp.send_message(message)
                        results.append((notice, None))
                    except smtplib.SMTPException as e:
                        results.append((notice, f"afvist af mailserveren: {e}"))
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"kunne ikke sende via {s.host}:{s.port}: {e}") from None
        return results
