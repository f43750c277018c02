"""The ASGI app `kp serve` runs (uvicorn imports it by name, so several workers each build their own)."""

from kvalitetsplatform.settings import load_settings
from kvalitetsplatform.web.demo import install_demo_launcher
from kvalitetsplatform.web.integration import create_platform_app, run_package_tests_in_background

_settings = load_settings()
app = create_platform_app(_settings)
install_demo_launcher(app, _settings)
run_package_tests_in_background()
