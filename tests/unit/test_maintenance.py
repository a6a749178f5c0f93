"""The maintenance timer and its queue workers: bounded runs, oldest first, and what each kind of
work does."""

from datetime import timedelta

from shared.schedule import WorkKind
from shared.storage.keys import table_key
from shared.sync.dispatch import MaintenanceTimer
from shared.sync.subscriptions import LIFETIME, RENEW_BEFORE
from tests.unit.world import ADELE, ALEX, LYNNE, NOW, World


def test_each_run_hands_out_at_most_its_limit_most_overdue_first_and_the_next_run_the_rest():
    world = World()
    world.switch()
    for person in (LYNNE, ALEX, ADELE):  # their renewals fall due an hour apart, in this order
        assert world.connect(person) == "connected"
        world.clock.advance(timedelta(hours=1))
    world.timer()
    owner = {s["id"]: s["upn"] for s in world.graph.subscriptions.values()}
    world.clock.now = NOW + LIFETIME - RENEW_BEFORE + timedelta(hours=3)
    app = world.app
    timer = MaintenanceTimer(
        schedule=app.schedule,
        handlers=app.maintenance.handlers,
        pauses=app.tenant_pauses,
        queue=world.work_queue,
        clock=world.clock,
        limit=2,
    )

    def renewed() -> list[str]:
        patches = [r.split("/")[1] for r in world.graph.requests if r.startswith("PATCH subs")]
        return [owner[subscription_id] for subscription_id in patches]

    assert timer.run()[WorkKind.RENEW_SUBSCRIPTION] == {"enqueued": 2}
    assert renewed() == [], "the timer runs nothing itself"
    assert world.work()[WorkKind.RENEW_SUBSCRIPTION] == {"renewed": 2}
    assert renewed() == [LYNNE.upn, ALEX.upn]
    assert timer.run()[WorkKind.RENEW_SUBSCRIPTION] == {"enqueued": 1}
    assert world.work()[WorkKind.RENEW_SUBSCRIPTION] == {"renewed": 1}
    assert renewed() == [LYNNE.upn, ALEX.upn, ADELE.upn]
    assert timer.run()[WorkKind.RENEW_SUBSCRIPTION] == {}


def connected_world() -> World:
    world = World()
    world.switch()
    assert world.connect(ADELE) == "connected"
    world.timer()
    return world


def test_subscriptions_are_renewed_before_they_expire():
    world = connected_world()
    (subscription,) = world.graph.subscriptions.values()
    world.clock.advance(LIFETIME - RENEW_BEFORE)

    report = world.timer()

    assert report[WorkKind.RENEW_SUBSCRIPTION] == {"renewed": 1}
    assert subscription["expirationDateTime"].startswith(
        (world.clock() + LIFETIME).strftime("%Y-%m-%dT%H:%M")
    )
    assert world.timer()[WorkKind.RENEW_SUBSCRIPTION] == {}, "due again only days later"


def test_a_subscription_graph_forgot_is_recreated_and_the_mailbox_read_again():
    world = connected_world()
    world.graph.subscriptions.clear()
    world.clock.advance(LIFETIME - RENEW_BEFORE)

    report = world.timer()

    assert report[WorkKind.RENEW_SUBSCRIPTION] == {"recreated": 1}
    assert len(world.graph.subscriptions) == 1
    assert world.graph.requests[-1] == "GET me/calendarView/delta"


def test_a_subscription_graph_refused_at_connect_is_created_by_the_timer():
    world = World()
    world.switch()
    world.graph.fail("POST", "subscriptions", 503, times=3)  # every attempt
    assert world.connect(ALEX) == "connected"
    assert world.graph.subscriptions == {}

    report = world.timer()

    assert report[WorkKind.CREATE_SUBSCRIPTION] == {"created": 1}
    assert len(world.graph.subscriptions) == 1


def test_one_failing_item_does_not_stop_the_others():
    world = connected_world()
    world.switch()  # an item for an organisation that fails below
    world.app.schedule.add(WorkKind.RESYNC_MAILBOX, NOW, "broken", OrgId="o")  # no UserId
    world.app.schedule.add(
        WorkKind.RESYNC_MAILBOX,
        NOW,
        table_key("org-contoso", ADELE.user_id),
        OrgId="org-contoso",
        UserId=ADELE.user_id,
    )

    report = world.timer()

    assert report[WorkKind.RESYNC_MAILBOX] == {"failed": 1, "applied 0 in 1 round(s)": 1}
