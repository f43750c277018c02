"""Subscriptions and notices through a real SMTP server (aiosmtpd, started here): after a compute the due reports
are built once per audience and each subscriber gets a link, never a PDF; nothing is sent twice; someone who has
left the audience gets nothing."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from kvalitetsplatform.access.users import UserError, revoke
from kvalitetsplatform.reports.audience import Audience
from kvalitetsplatform.reports.mail import Mailer, MailError, MailSettings
from kvalitetsplatform.reports.subscriptions import notify_due, subscribe, subscriptions, unsubscribe

from .reports_support import PACKAGE, Inbox, add_user, free_port

BASE = "https://kp.example.dk"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, Mailer(MailSettings(controller.hostname, controller.port, "rapporter@kp.example.dk", BASE))
    finally:
        controller.stop()


def test_due_reports_are_built_once_and_each_subscriber_gets_a_link(env, smtp):
    inbox, mailer = smtp
    cluster = env.world.clusters[0]
    own = env.world.practices_in(cluster)[0]
    gp = add_user(env, "gp", "gp", own)
    staff = add_user(env, "staff", "practice_staff", own)
    coordinator = add_user(env, "coordinator", "cluster_coordinator", cluster)
    subscribe(env.engine, env.library, gp, Audience("practice", own), PACKAGE, "gp@praksis.dk")
    subscribe(env.engine, env.library, staff, Audience("practice", own), PACKAGE, "sekretaer@praksis.dk")
    subscribe(env.engine, env.library, coordinator, Audience("cluster", cluster), PACKAGE, "koordinator@klynge.dk")

    outcome = notify_due(env.engine, env.library, mailer, BASE)
    assert len(outcome.built) == 2 and not outcome.failed and not outcome.skipped  # one per audience
    practice_id = next(b for b in outcome.built if b.startswith("practice-"))
    cluster_id = next(b for b in outcome.built if b.startswith("cluster-"))
    got = {tuple(to): message for to, message in inbox.messages}
    assert set(got) == {("gp@praksis.dk",), ("sekretaer@praksis.dk",), ("koordinator@klynge.dk",)}
    for to, report_id in ((("gp@praksis.dk",), practice_id), (("koordinator@klynge.dk",), cluster_id)):
        message = got[to]
        assert not message.is_multipart() and message.get_content_type() == "text/plain"
        body = message.get_content()
        assert f"{BASE}/rapporter/{report_id}" in body
        assert "%PDF" not in body and "Demens" in message["Subject"]
        assert message["From"] == "rapporter@kp.example.dk"
    # the coordinator's notice names the cluster pack only; the practice's notices the practice report only
    assert practice_id not in got[("koordinator@klynge.dk",)].get_content()
    assert cluster_id not in got[("gp@praksis.dk",)].get_content()

    again = notify_due(env.engine, env.library, mailer, BASE)
    assert again.built == [] and again.sent == [] and len(inbox.messages) == 3


def test_subscribing_needs_the_audience_grant_and_a_valid_address(env):
    cluster = env.world.clusters[0]
    own, other = env.world.practices_in(cluster)[:2]
    gp = add_user(env, "gp", "gp", own)
    with pytest.raises(UserError, match="ingen rolle"):
        subscribe(env.engine, env.library, gp, Audience("practice", other), PACKAGE, "gp@praksis.dk")
    with pytest.raises(UserError, match="ingen rolle"):
        subscribe(env.engine, env.library, gp, Audience("cluster", cluster), PACKAGE, "gp@praksis.dk")
    with pytest.raises(UserError, match="ikke gyldig"):
        subscribe(env.engine, env.library, gp, Audience("practice", own), PACKAGE, "ikke-en-adresse")
    sub = subscribe(env.engine, env.library, gp, Audience("practice", own), PACKAGE, "gp@praksis.dk")
    same = subscribe(env.engine, env.library, gp, Audience("practice", own), PACKAGE, "ny@praksis.dk")
    assert same.id == sub.id and same.email == "ny@praksis.dk"
    unsubscribe(env.engine, sub.id, user_id=gp)
    assert subscriptions(env.engine) == []
    with pytest.raises(UserError, match="allerede afmeldt"):
        unsubscribe(env.engine, sub.id)


def test_someone_who_left_the_audience_gets_nothing_and_refused_mail_is_retried(env, smtp):
    inbox, mailer = smtp
    cluster = env.world.clusters[1]
    own = env.world.practices_in(cluster)[0]
    gp = add_user(env, "gp", "gp", own)
    staff = add_user(env, "staff", "practice_staff", own)
    gone = subscribe(env.engine, env.library, gp, Audience("practice", own), PACKAGE, "gp@praksis.dk")
    kept = subscribe(env.engine, env.library, staff, Audience("practice", own), PACKAGE, "fuld@praksis.dk")
    revoke(env.engine, env.gate.audit, "gp", "gp", own)
    inbox.refuse.add("fuld@praksis.dk")
    outcome = notify_due(env.engine, env.library, mailer, BASE)
    assert [s for s, _ in outcome.skipped] == [gone.id]
    assert [(s, r) for s, r, _ in outcome.failed] == [(kept.id, outcome.built[0])] and inbox.messages == []
    inbox.refuse.clear()
    retry = notify_due(env.engine, env.library, mailer, BASE)
    assert retry.built == [] and [(s, r) for s, r, _ in retry.sent] == [(kept.id, outcome.built[0])]
    assert [to for to, _ in inbox.messages] == [["fuld@praksis.dk"]]


def test_mail_settings_are_required_and_checked(tmp_path):
    with pytest.raises(MailError, match="KP_SMTP_HOST og KP_SMTP_SENDER"):
        MailSettings.load(tmp_path, {})
    with pytest.raises(MailError, match="portnummer"):
        MailSettings.load(tmp_path, {"KP_SMTP_HOST": "localhost", "KP_SMTP_SENDER": "a@b.dk",
                                     "KP_SMTP_PORT": "tjuefem"})
    s = MailSettings.load(tmp_path, {"KP_SMTP_HOST": "mail", "KP_SMTP_SENDER": "a@b.dk", "KP_BASE_URL": "https://x/"})
    assert (s.host, s.port, s.base_url) == ("mail", 25, "https://x")


def test_an_unreachable_server_is_a_clear_error(env):
    mailer = Mailer(MailSettings("127.0.0.1", free_port(), "rapporter@kp.example.dk", BASE))
    own = env.world.practices_in(env.world.clusters[0])[0]
    gp = add_user(env, "gp", "gp", own)
    subscribe(env.engine, env.library, gp, Audience("practice", own), PACKAGE, "gp@praksis.dk")
    with pytest.raises(MailError, match="kunne ikke sende via 127.0.0.1"):
        notify_due(env.engine, env.library, mailer, BASE)
