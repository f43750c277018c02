"""Helpers for the report tests: the text of produced PDFs and the identities that must not leak."""

from __future__ import annotations

import re
import socket
import subprocess
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from pypdf import PdfReader

from kvalitetsplatform.reports.testing import World

PACKAGE = "dementia"


def pdf_text(path: Path) -> str:
    """The text a reader can copy out of the PDF (pypdf), one line per page with whitespace collapsed (a name
    wrapped in a table cell reads as one)."""
    return "\n".join(" ".join(page.extract_text().split()) for page in PdfReader(str(path)).pages)


def layout_text(path: Path) -> str:
    """The text with its layout kept (poppler's pdftotext -layout): a chart's label and value share a line."""
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def names_and_numbers(world: World, exclude: set[str] = frozenset()) -> dict[str, str]:
    """Every practice's name and ydernummer ({text: ydernummer}), except those in `exclude`."""
    out = {}
    for u in world.units:
        if u.level == "practice" and u.code not in exclude:
            out[u.name] = u.code
            out[u.code] = u.code
    return out


CPR = re.compile(r"\b(0[1-9]|[12]\d|3[01])(0[1-9]|1[0-2])\d{2}-?\d{4}\b")  # DDMMYY-NNNN


def add_user(env, username: str, role: str, scope: str) -> int:
    """A user with one grant; returns the user id."""
    from kvalitetsplatform.access.users import create_user, grant

    audit = env.gate.audit
    try:
        user_id = create_user(env.engine, audit, username, username.title())
    except Exception:  # noqa: BLE001 - the user exists already: add the grant
        from sqlalchemy import select

        from kvalitetsplatform.access.db import user_account

        with env.engine.connect() as conn:
            user_id = conn.execute(select(user_account.c.id).where(user_account.c.username == username)).scalar()
    grant(env.engine, audit, username, role, scope)
    return user_id


def principal_of(env, user_id: int):
    from kvalitetsplatform.access.principal import load_principal

    with env.engine.connect() as conn:
        return load_principal(conn, user_id)


class Inbox:
    def __init__(self, refuse: set[str] = frozenset()):
        self.messages = []
        self.refuse = set(refuse)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
