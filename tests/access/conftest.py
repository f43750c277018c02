from kvalitetsplatform.access.testing import appdb_engine, appdb_url  # noqa: F401
