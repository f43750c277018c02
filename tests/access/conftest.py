from kvalitetsplatform.access.testing import appdb_engine, appdb_url, world_warehouse  # noqa: F401
