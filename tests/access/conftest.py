from kvalitetsplatform.access.testing import _sqlite_template, appdb_engine, appdb_url, world_home  # noqa: F401


def seed_world(engine, grants: dict) -> tuple:
    """The access world's organisation and one user per entry of `grants` ({username: [(role, scope), …]}):
    (audit log, {username: user id})."""
    from kvalitetsplatform.access import users
    from kvalitetsplatform.access.audit import AuditLog
    from kvalitetsplatform.access.orgs import replace_organisation
    from kvalitetsplatform.access.testing import world_organisation

    replace_organisation(engine, *world_organisation())
    audit = AuditLog(engine, b"a" * 32)
    ids = {}
    for name, roles in grants.items():
        ids[name] = users.create_user(engine, audit, name, name.title())
        for role, scope in roles:
            users.grant(engine, audit, name, role, scope)
    return audit, ids
