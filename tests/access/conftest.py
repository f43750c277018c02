from kvalitetsplatform.access.testing import _sqlite_template, appdb_engine, appdb_url, world_home  # noqa: F401
