"""Access and governance: who sees what.

- `db` — the application database (SQLAlchemy Core + Alembic migrations in `migrations/`).
- `roles`, `orgs`, `users`, `principal` — roles and their scopes, organisations over time, users and grants, and
  the Principal a read is made for.
- `gate` — the one fail-closed gate every read for a person passes: scope, grain, disclosure control, audit.
- `disclosure` — primary and secondary suppression with an exact linear-programming audit.
- `audit` — the append-only, hash-chained audit log; `usage` — usage events and active users.
- `auth` — passwords, sessions, CSRF, rate limiting and launch from the practice system.
"""
