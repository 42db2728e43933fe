"""Surge detector behaviour, on small synthetic minute-by-minute traffic."""

from __future__ import annotations

import json
from collections.abc import Callable

from core.surge.baseline import BaselineConfig, Forecast, expected
from core.surge.detector import SurgeConfig, SurgeDetector
from core.surge.pipeline import SurgePipeline
from core.surge.reference import Recent
from schemas.alerts import Alert, AlertKind, AlertStatus

DAY0 = 29_000_160  # an epoch minute at midnight UTC (2025-02-21)
NORMAL = {("x", "negative"): 2, ("x", "neutral"): 4, ("facebook", "neutral"): 4,
          ("facebook", "positive"): 3, ("instagram", "neutral"): 3, ("whatsapp", "neutral"): 3}
Traffic = Callable[[int], dict[tuple[str, str], int]]


def normal(_minute: int) -> dict[tuple[str, str], int]:
    return NORMAL


def quiet(minute: int) -> dict[tuple[str, str], int]:
    """A quiet brand: three neutral messages a minute, a negative one every ten."""
    return {("x", "neutral"): 3, ("x", "negative"): int(minute % 10 == 0)}


def feed(detector: SurgeDetector, first: int, last: int, traffic: Traffic,
         terms: tuple[str, ...] = ("retard",)) -> list[Alert]:
    """Events for minutes [first, last), brand "acme": each platform and polarity's
    spread evenly over the minute, so they interleave as real traffic does."""
    alerts: list[Alert] = []
    for minute in range(first, last):
        for event in minute_events(minute, traffic):
            alerts += observe(detector, minute, event, terms)
    return alerts


def observe(detector: SurgeDetector, minute: int, event: tuple[float, str, str, int],
            terms: tuple[str, ...] = ("retard",)) -> list[Alert]:
    """One event of :func:`minute_events`, brand "acme"."""
    ts, platform, polarity, k = event
    return detector.observe(ts, "acme", platform, polarity, f"{platform}:{minute}-{polarity}-{k}",
                            terms=terms, followers=k)


def minute_events(minute: int, traffic: Traffic) -> list[tuple[float, str, str, int]]:
    """(ts, platform, polarity, k) of a minute's traffic, in time order."""
    events = sorted(((k + 0.5) / n, platform, polarity, k)
                    for (platform, polarity), n in traffic(minute).items() for k in range(n))
    return [(minute * 60 + 59.0 * position, platform, polarity, k)
            for position, platform, polarity, k in events]


def warm(detector: SurgeDetector, traffic: Traffic = normal) -> int:
    """One ordinary day; returns the first minute of the next day."""
    assert feed(detector, DAY0, DAY0 + 1440, traffic) == []
    return DAY0 + 1440


def with_extra(extra: dict[tuple[str, str], int], start: int, end: int,
               base: Traffic = normal) -> Traffic:
    def traffic(minute: int) -> dict[tuple[str, str], int]:
        counts = dict(base(minute))
        if start <= minute < end:
            for key, n in extra.items():
                counts[key] = counts.get(key, 0) + n
        return counts
    return traffic


def test_a_quiet_day_raises_nothing() -> None:
    detector = SurgeDetector()
    day1 = warm(detector)
    assert feed(detector, day1, day1 + 1440, normal) == []


def test_a_1_to_3_jump_is_not_a_spike() -> None:
    tiny = {("x", "negative"): 1, ("x", "neutral"): 20, ("facebook", "neutral"): 20}
    detector = SurgeDetector()
    day1 = warm(detector, lambda _m: tiny)
    jump = with_extra({("x", "negative"): 2}, day1 + 600, day1 + 601, lambda _m: tiny)
    assert feed(detector, day1, day1 + 700, jump) == []


def test_a_night_time_x10_on_a_tiny_baseline_is_a_spike() -> None:
    def night(minute: int) -> dict[tuple[str, str], int]:
        return {("x", "neutral"): 10, ("x", "negative"): int(minute % 5 == 0)}

    detector = SurgeDetector()
    day1 = warm(detector, night)
    surge = with_extra({("x", "negative"): 2}, day1 + 180, day1 + 200, night)
    alerts = feed(detector, day1, day1 + 200, surge)
    assert alerts[0].status is AlertStatus.OPEN
    assert {a.status for a in alerts[1:]} <= {AlertStatus.UPDATE}  # it grows as it goes on
    assert alerts[0].polarity == "negative"
    assert (alerts[0].detected_at.timestamp() / 60 - (day1 + 180)) <= 10


def test_one_open_per_incident_then_updates_then_one_resolved() -> None:
    detector = SurgeDetector()
    day1 = warm(detector)

    def growing(minute: int) -> dict[tuple[str, str], int]:
        counts = dict(NORMAL)
        if day1 + 600 <= minute < day1 + 660:
            counts["x", "negative"] += (minute - day1 - 600) + 5
        return counts

    alerts = feed(detector, day1, day1 + 800, growing)
    statuses = [a.status for a in alerts]
    assert statuses[0] is AlertStatus.OPEN
    assert statuses[-1] is AlertStatus.RESOLVED
    assert statuses.count(AlertStatus.OPEN) == 1
    assert statuses.count(AlertStatus.RESOLVED) == 1
    assert AlertStatus.UPDATE in statuses
    assert len({a.alert_id for a in alerts}) == 1
    assert [a.sequence for a in alerts] == list(range(len(alerts)))


def test_a_surge_opens_within_its_first_minute_and_its_minutes_count_once() -> None:
    """A peek scores the minute still open, so a burst opens before that minute has
    closed; the minutes it saw in part are counted once, whole, when they close."""
    peeking, closing = SurgeDetector(), SurgeDetector(config=SurgeConfig(peek_seconds=0))
    day1 = warm(peeking)
    assert warm(closing) == day1
    spike = with_extra({("x", "negative"): 40}, day1 + 600, day1 + 620)
    early, late = (feed(d, day1, day1 + 700, spike) for d in (peeking, closing))

    assert early[0].status is late[0].status is AlertStatus.OPEN
    assert early[0].detected_at.timestamp() < (day1 + 601) * 60
    assert late[0].detected_at.timestamp() >= (day1 + 601) * 60 + SurgeConfig().lateness
    assert early[0].count < late[0].count  # what the open minute held so far
    end, end_closing = early[-1], late[-1]
    assert end.status is end_closing.status is AlertStatus.RESOLVED
    for alert in (end, end_closing):
        minutes = [int(p.minute.timestamp() // 60) for p in alert.trajectory]
        assert minutes == list(range(minutes[0], minutes[0] + len(minutes)))
        assert [p.count for p in alert.trajectory] == [spike(m)["x", "negative"] for m in minutes]
        start = int(alert.window_start.timestamp() // 60)
        assert alert.count == sum(spike(m)["x", "negative"] for m in range(start, minutes[-1] + 1))
    assert end.trajectory[-1] == end_closing.trajectory[-1]


def test_an_incident_that_grew_since_its_open_says_so_a_minute_later() -> None:
    """It opens on its first messages; when the next minute holds many more, the first
    update comes then, not five minutes after the open. Later ones keep their pace."""
    detector = SurgeDetector()
    day1 = warm(detector)
    burst = with_extra({("x", "negative"): 15}, day1 + 600, day1 + 601)
    alerts = feed(detector, day1, day1 + 620,
                  with_extra({("x", "negative"): 60}, day1 + 601, day1 + 620, burst))
    opened, first, *later = alerts
    assert (opened.status, first.status) == (AlertStatus.OPEN, AlertStatus.UPDATE)
    assert first.count >= 3 * opened.count
    assert (first.detected_at - opened.detected_at).total_seconds() <= 150
    for before, after in zip([first, *later], later, strict=False):
        assert (after.detected_at - before.detected_at).total_seconds() >= 5 * 60


def opens_after_an_incident(gap: int, minutes: int) -> list[Alert]:
    """A quiet brand's incident, then ``gap`` minutes after it ended one extra negative
    message a minute for ``minutes`` minutes: the opens that trickle raises."""
    detector = SurgeDetector()
    day1 = warm(detector, quiet)
    first = with_extra({("x", "negative"): 20}, day1 + 600, day1 + 620, quiet)
    ended = next(minute for minute in range(day1, day1 + 1440) if any(
        a.status is AlertStatus.RESOLVED for a in feed(detector, minute, minute + 1, first)))
    trickle = with_extra({("x", "negative"): 1}, ended + gap, ended + gap + minutes, quiet)
    alerts = feed(detector, ended + 1, ended + gap + minutes + 30, trickle)
    return [a for a in alerts if a.status is AlertStatus.OPEN]


def test_a_series_that_just_ended_an_incident_needs_more_to_open_again() -> None:
    """Nine extra messages in nine minutes on a brand of one negative message every ten
    open an incident an hour after its last one ended; 16 minutes after, they are more
    likely that surge's tail, and open one only if they go on."""
    assert len(opens_after_an_incident(76, 9)) == 1
    assert opens_after_an_incident(16, 9) == []
    assert len(opens_after_an_incident(16, 12)) == 1


def test_a_detector_restored_right_after_a_peek_opened_counts_the_same() -> None:
    """The state saved between a peek's open and the closing of its minute (a worker
    restarting then) carries what the peek counted, so the restored detector takes it
    back, as the running one does."""
    running = SurgeDetector()
    day1 = warm(running)
    spike = with_extra({("x", "negative"): 40}, day1 + 600, day1 + 620)
    expected = feed(running, day1, day1 + 700, spike)

    state: tuple[dict[str, object], ...] = ({}, {}, {}, {})
    detector = SurgeDetector(*state)  # type: ignore[arg-type]
    warm(detector)
    alerts = feed(detector, day1, day1 + 600, spike)
    restored = None
    for event in minute_events(day1 + 600, spike):
        alerts += observe(detector, day1 + 600, event)
        if alerts and restored is None:
            restored = detector = SurgeDetector(*(json.loads(json.dumps(s)) for s in state))
    assert alerts[0].status is AlertStatus.OPEN
    assert alerts[0].detected_at.timestamp() < (day1 + 601) * 60
    alerts += feed(detector, day1 + 601, day1 + 700, spike)
    assert [a.model_dump() for a in alerts] == [a.model_dump() for a in expected]


def test_an_alert_explains_itself() -> None:
    detector = SurgeDetector()
    day1 = warm(detector)
    spike = with_extra({("x", "negative"): 20, ("facebook", "negative"): 10},
                       day1 + 600, day1 + 640)
    feed(detector, day1, day1 + 600, normal)
    alerts = feed(detector, day1 + 600, day1 + 640, spike, terms=("retard", "#annulation"))
    alert = alerts[0]
    assert alert.kind is AlertKind.SPIKE
    assert alert.brand == "acme"
    assert alert.top_terms == ["#annulation"]
    assert alert.term_excess[0].expected < 1
    assert {p.value for p in alert.platforms} == {"x", "facebook"}
    assert alert.origin_event_id is not None
    assert alert.sample_event_ids
    assert alert.trajectory
    assert alert.trajectory[-1].count > alert.trajectory[-1].baseline
    assert alert.polarity_mix["negative"] > alert.polarity_mix["positive"]
    assert alert.count > alert.baseline > 0
    assert alert.score >= 6
    Alert.model_validate_json(alert.model_dump_json(by_alias=True))


def test_a_spike_does_not_inflate_the_next_days_baseline() -> None:
    detector = SurgeDetector()
    day1 = warm(detector)
    feed(detector, day1, day1 + 1440, with_extra({("x", "negative"): 60}, day1 + 600,
                                                 day1 + 720))
    series = detector.series["b|acme|negative"]
    assert expected(series, day1 + 1440 + 660, BaselineConfig()) < 2.5


def test_a_platform_going_dark_is_a_silence_until_it_comes_back() -> None:
    detector = SurgeDetector()
    day1 = warm(detector)

    def outage(minute: int) -> dict[tuple[str, str], int]:
        if day1 + 600 <= minute < day1 + 720:
            return {k: v for k, v in NORMAL.items() if k[0] not in {"facebook", "instagram"}}
        return NORMAL

    alerts = feed(detector, day1, day1 + 800, outage)
    assert next(a.status for a in alerts) is AlertStatus.OPEN
    assert alerts[-1].status is AlertStatus.RESOLVED
    assert alerts[0].kind is AlertKind.SILENCE
    assert alerts[0].brand is None
    assert {p.value for p in alerts[-1].platforms} == {"facebook", "instagram"}
    assert alerts[0].detected_at.timestamp() / 60 - (day1 + 600) <= 10


def test_the_whole_stream_pausing_is_not_a_silence() -> None:
    detector = SurgeDetector()
    day1 = warm(detector)
    feed(detector, day1, day1 + 600, normal)
    assert feed(detector, day1 + 660, day1 + 700, normal) == []


def test_state_is_plain_json_and_a_restarted_detector_resumes() -> None:
    state: tuple[dict[str, object], ...] = ({}, {}, {}, {})
    detector = SurgeDetector(*state)  # type: ignore[arg-type]
    day1 = warm(detector)
    spike = with_extra({("x", "negative"): 30}, day1 + 600, day1 + 620)
    opened = feed(detector, day1, day1 + 610, spike)
    assert [a.status for a in opened][:1] == [AlertStatus.OPEN]
    restored = tuple(json.loads(json.dumps(s)) for s in state)
    resumed = SurgeDetector(*restored)
    rest = feed(resumed, day1 + 610, day1 + 700, spike)
    assert AlertStatus.OPEN not in [a.status for a in rest]
    assert rest[-1].status is AlertStatus.RESOLVED
    assert rest[-1].alert_id == opened[0].alert_id


def test_events_later_than_the_allowed_lateness_are_counted_not_applied() -> None:
    detector = SurgeDetector()
    detector.observe(600.0, "acme", "x", "negative", "x:1")
    detector.observe(700.0, "acme", "x", "negative", "x:2")
    detector.observe(610.0, "acme", "x", "negative", "x:3")
    assert detector.late == 1


def test_a_spam_wave_is_not_a_crisis_but_the_same_volume_of_real_posts_is() -> None:
    def run(text_of: Callable[[int], str]) -> list[Alert]:
        pipeline = SurgePipeline()
        alerts: list[Alert] = []
        for minute in range(DAY0, DAY0 + 1440 + 640):
            records = [("neutral", f"question numero {minute % 7} sur la livraison acme")] * 4
            records += [("negative", "acme livraison en retard, pas content")]
            if minute >= DAY0 + 1440 + 600:
                records += [("negative", text_of(minute * 100 + i)) for i in range(15)]
            for i, (polarity, text) in enumerate(records):
                alerts += pipeline.feed(
                    event_id=f"x:{minute}-{i}", ts=minute * 60.0 + 3 * i, platform="x",
                    brand="acme", text=text, author=f"a{minute}-{i}", followers=10,
                    polarity=polarity)
        return alerts

    copypasta = "ARNAQUE acme encaisse et ne livre jamais, des milliers de victimes, partagez"
    words = ("colis", "perdu", "remboursement", "attente", "service", "client", "honte", "nul",
             "appel", "facture", "erreur", "bloqué", "jamais", "encore", "semaine", "mail")
    assert run(lambda i: f"{copypasta} https://bit.ly/{i}") == []
    diverse = run(lambda i: f"acme {words[i % 16]} {words[i // 16 % 16]} {words[i // 256 % 16]}")
    assert [a.status for a in diverse][:1] == [AlertStatus.OPEN]


def test_copies_a_later_message_reveals_as_a_spam_wave_are_taken_back_from_the_spike_count(
) -> None:
    """Nine untagged copies over two minutes would open a spike on a quiet brand; the
    copy that makes them a wave (the near-duplicate stage's ``wave_head``) takes them
    back before the minute closes."""
    def run(retract: int) -> list[Alert]:
        detector = SurgeDetector()
        day1 = warm(detector, quiet)
        alerts = feed(detector, day1, day1 + 600, quiet)
        minute = day1 + 600
        for i in range(9):
            alerts += detector.observe((minute + i // 5) * 60.0 + i, "acme", "x", "negative",
                                       f"x:copy-{i}")
        alerts += detector.observe((minute + 1) * 60.0 + 50, "acme", "x", "negative",
                                   "x:copy-9", discounted=True, retract=retract)
        return alerts + feed(detector, minute + 2, minute + 40, quiet)

    assert [a.status for a in run(retract=0)][:1] == [AlertStatus.OPEN]
    assert run(retract=9) == []


def test_a_platform_gone_quiet_is_expected_at_the_pace_of_the_other_platforms() -> None:
    """x carries half its forecast; facebook, silent and no longer voting, is expected
    at half its own forecast too (its own forecast is not taken out of x's sums)."""
    states = {"p|x": {"x": [10.0] * 5, "mu": [20.0] * 5, "inc": None},
              "p|facebook": {"x": [0.0] * 5, "mu": [10.0] * 5, "inc": None}}
    voters = Recent(states, states, 0.0).without({"facebook"})
    window = voters.window("p|facebook", 5, Forecast(10.0, 0.0, 0.09))
    assert window.forecast == 50.0
    assert 0.45 * 50.0 <= window.expected <= 0.55 * 50.0


def test_a_minute_with_more_messages_taken_back_than_it_had_does_not_break_the_baselines(
) -> None:
    """A spam wave revealed late takes its copies back in the minute that reveals it,
    which can leave that minute far below zero: the windows net it out, the baselines
    learn nothing below zero from it, and the next day's same hour still forecasts."""
    detector = SurgeDetector()
    day1 = warm(detector, quiet)
    feed(detector, day1, day1 + 600, quiet)
    detector.observe((day1 + 600) * 60.0 + 30, "acme", "x", "negative", "x:wave-head",
                     discounted=True, retract=5_000)
    feed(detector, day1 + 601, day1 + 1440 + 700, quiet)  # the same hour, a day later
    pooled = detector.meta["pooled"]
    assert min(pooled["s"]) >= 0.0
    assert expected(pooled, day1 + 1440 + 610, detector.config.baseline) >= 0.0


def test_a_whole_brand_busier_at_once_opens_nothing_even_before_its_minutes_close() -> None:
    """A TV mention makes all of a brand's messages six times as frequent at once: its other
    polarities say so in the open minutes too, so a peek does not take it for a surge."""
    detector = SurgeDetector()
    day1 = warm(detector)

    def busier(minute: int) -> dict[tuple[str, str], int]:
        lifted = day1 + 600 <= minute < day1 + 630
        return {key: n * 6 if lifted else n for key, n in NORMAL.items()}

    assert feed(detector, day1, day1 + 700, busier) == []
