"""The JSON API (FastAPI, /api/v1) and the sign-in and launch endpoints. `create_app` is the factory."""

from kvalitetsplatform.api.app import create_app

__all__ = ["create_app"]
