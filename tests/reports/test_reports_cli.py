"""`kp reports …` end to end on a KP_HOME (SQLite app DB): build, list, subscribe, subscriptions, notify."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kvalitetsplatform.cli.main import app

from .reports_support import PACKAGE, Inbox, add_user, free_port

pytestmark = pytest.mark.parametrize("appdb_url", ["sqlite"], indirect=True)


def kp(env, *args, extra: dict | None = None):
    environment = {"KP_HOME": str(env.home), "KP_DATABASE_URL": env.settings.database_url, **(extra or {})}
    return CliRunner().invoke(app, list(args), env=environment)


def test_build_list_and_errors(env):
    cluster = env.world.clusters[0]
    own = env.world.practices_in(cluster)[0]
    result = kp(env, "reports", "build", "--practice", own, "--package", PACKAGE, "--json")
    assert result.exit_code == 0, result.output
    built = json.loads(result.stdout)["built"]
    assert [(b["kind"], b["scope_code"], b["package"], b["period"]) for b in built] == [
        ("practice", own, PACKAGE, env.world.dates[-1].isoformat())]
    assert (env.home / "reports" / built[0]["file"]).exists()

    result = kp(env, "reports", "build", "--cluster", cluster, "--package", PACKAGE,
                "--period", f"{env.world.dates[-2]:%Y-%m}", "--lang", "en", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["built"][0]["period"] == env.world.dates[-2].isoformat()

    listed = json.loads(kp(env, "reports", "list", "--json").stdout)["reports"]
    assert sorted(r["kind"] for r in listed) == ["cluster", "practice"]
    assert "Rapportbiblioteket" in kp(env, "reports", "list").output

    bad = kp(env, "reports", "build", "--practice", own, "--period", "2026-13")
    assert bad.exit_code != 0 and "ÅÅÅÅ-MM" in bad.output
    both = kp(env, "reports", "build", "--practice", own, "--cluster", cluster)
    assert both.exit_code != 0 and "præcis én af --practice, --cluster og --region" in both.output
    unknown = kp(env, "reports", "build", "--practice", own, "--package", "nope")
    assert unknown.exit_code == 1 and "ukendt pakke 'nope'" in unknown.output


def test_region_builds_the_overview_and_every_cluster_pack(env):
    region = next(m.region_code for m in env.world.memberships)
    result = kp(env, "reports", "build", "--region", region, "--package", PACKAGE, "--json")
    assert result.exit_code == 0, result.output
    kinds = sorted((b["kind"], b["scope_code"]) for b in json.loads(result.stdout)["built"])
    assert kinds == [("cluster", c) for c in env.world.clusters_in(region)] + [("region", region)]


def test_subscribe_and_notify(env):
    from aiosmtpd.controller import Controller

    own = env.world.practices_in(env.world.clusters[0])[0]
    add_user(env, "gp", "gp", own)
    result = kp(env, "reports", "subscribe", "--user", "gp", "--practice", own, "--package", PACKAGE,
                "--email", "gp@praksis.dk", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(kp(env, "reports", "subscriptions", "--json").stdout)["subscriptions"][0]["email"] == \
        "gp@praksis.dk"
    refused = kp(env, "reports", "subscribe", "--user", "gp", "--cluster", env.world.clusters[0], "--package",
                 PACKAGE, "--email", "gp@praksis.dk")
    assert refused.exit_code == 1 and "ingen rolle" in refused.output

    missing = kp(env, "reports", "notify")
    assert missing.exit_code == 2 and "KP_SMTP_HOST" in missing.output
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        result = kp(env, "reports", "notify", "--json", extra={
            "KP_SMTP_HOST": "127.0.0.1", "KP_SMTP_PORT": str(controller.port), "KP_SMTP_SENDER": "kp@kp.dk",
            "KP_BASE_URL": "https://kp.example.dk"})
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert len(outcome["built"]) == 1 and [s["to"] for s in outcome["sent"]] == ["gp@praksis.dk"]
    assert f"https://kp.example.dk/rapporter/{outcome['built'][0]}" in inbox.messages[0][1].get_content()


def test_kp_protect_keeps_every_date_of_a_subscribed_report_so_its_build_protects_nothing(env):
    from kvalitetsplatform.access.gate import views_path
    from kvalitetsplatform.access.views import ViewStore

    cluster = env.world.clusters[0]
    add_user(env, "coord", "cluster_coordinator", cluster)
    assert kp(env, "reports", "subscribe", "--user", "coord", "--cluster", cluster, "--package", PACKAGE,
              "--email", "k@klynge.dk").exit_code == 0
    result = kp(env, "protect", "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["report_audiences"] == 1
    views = ViewStore(views_path(env.settings))
    kept = views.count()
    built = kp(env, "reports", "build", "--cluster", cluster, "--package", PACKAGE, "--json")
    assert built.exit_code == 0, built.output
    assert views.count() == kept  # the pack's 36 months were all kept already
