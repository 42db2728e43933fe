"""Wire forms of the stream's hot path: same bytes as before, fewer records."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
from aiokafka.partitioner import DefaultPartitioner

from base.settings import Settings
from core.brands import BrandDirectory
from core.dedupe import NearDup
from core.pipeline import (
    OBSERVATIONS_PER_RECORD,
    BatchOutput,
    Pipeline,
    RawRecord,
    decode_observations,
    encode,
    encode_observations,
)
from core.route import DM_WINDOW_S
from core.surge.observation import Observation
from lab.simulator import Simulator
from schemas.events import (
    Classification,
    ClassifiedEvent,
    Intent,
    Kind,
    Platform,
    Risk,
    Sentiment,
    assemble,
)
from streams.partitioner import partition_for

PAYLOADS = Path(__file__).parents[1] / "data" / "payloads"


def _observation(i: int) -> Observation:
    return Observation.of(ts=1.7e9 + i, brand="aurore_air", platform="x", polarity="negative",
                          event_id=f"x:{i}", tokens=["retard", "vol"], followers=i,
                          near=NearDup(f"x:{i}", 1, spam_wave=i % 2 == 0))


def test_a_batch_of_observations_travels_in_few_records_and_comes_back_intact() -> None:
    observations = [_observation(i) for i in range(2 * OBSERVATIONS_PER_RECORD + 1)]
    records = encode_observations(observations)
    assert len(records) == 3
    assert [o for r in records for o in decode_observations(r)] == observations
    assert encode_observations([]) == []


def test_a_single_observation_record_is_still_understood() -> None:
    observation = _observation(7)
    assert decode_observations(observation.encode()) == [observation]


def test_an_observation_carries_the_wave_head_it_revealed_and_older_records_still_decode(
) -> None:
    revealed = Observation.of(ts=1.7e9, brand="b", platform="x", polarity="negative",
                              event_id="x:9", tokens=[], followers=0,
                              near=NearDup("x:1", 4, spam_wave=True, wave_head=3))
    assert decode_observations(revealed.encode()) == [revealed]
    assert revealed.retract == 3
    eight_fields = orjson.dumps([1.7e9, "b", "x", "negative", "x:9", [], 0, True])
    assert decode_observations(eight_fields)[0].retract == 0


def test_encode_gives_the_bytes_of_orjson_on_the_json_dump() -> None:
    event = Simulator(BrandDirectory.load(), seed=3).event(Simulator(
        BrandDirectory.load()).platforms[0])
    labels = Classification(lang="fr", sentiment=Sentiment.NEGATIVE, intent=Intent.COMPLAINT,
                            risks=[Risk.PERSONAL_DATA], tags=["t"], reasons={"intent": ["r"]})
    classified = ClassifiedEvent.of(event, labels, dup_cluster="c", dup_count=2)
    for model in (event, classified, labels):
        assert encode(model) == orjson.dumps(model.model_dump(mode="json", by_alias=True))


def test_classified_event_of_equals_the_validated_construction() -> None:
    event = Simulator(BrandDirectory.load(), seed=5).event(Simulator(
        BrandDirectory.load()).platforms[1])
    labels = Classification(lang=None, sentiment=Sentiment.POSITIVE, intent=Intent.PRAISE,
                            tags=["a"], reasons={"sentiment": ["lexicon"]})
    fast = ClassifiedEvent.of(event, labels, dup_cluster="k", dup_count=3)
    fields = {**event.model_dump(), **labels.model_dump(), "lang": event.lang}
    assert fast == ClassifiedEvent(**fields, dup_cluster="k", dup_count=3)
    labels.tags.append("later")
    assert fast.tags == ["a"]  # the event keeps its own copy of the labels' lists


def test_slices_of_a_batch_add_up_to_the_whole_batch() -> None:
    settings, brands = Settings(), BrandDirectory.load()
    records = [RawRecord(settings.topics.raw(m.platform), 0, i, m.key, m.value)
               for i, m in enumerate(Simulator(brands, seed=11, invalid_share=0.1,
                                               duplicate_share=0.1).messages(300))]
    whole = Pipeline(settings, brands).process(records)
    sliced, pipeline = BatchOutput(), Pipeline(settings, brands)
    for start in range(0, len(records), 70):
        sliced.extend(pipeline.process(records[start : start + 70]))
    assert [e.event_id for e, _ in sliced.classified] == [e.event_id for e, _ in whole.classified]
    assert len(sliced.dead_letters) == len(whole.dead_letters) > 0
    assert sliced.duplicates == whole.duplicates > 0
    assert [t.task_id for t in sliced.tasks] == [t.task_id for t in whole.tasks]
    assert sliced.observations == whole.observations


def test_assemble_makes_what_model_construct_makes() -> None:
    event = Simulator(BrandDirectory.load(), seed=7).event(Simulator(
        BrandDirectory.load()).platforms[2])
    event.__pydantic_extra__ = {"change": "edited", "sentiment": "shadowed by the label"}
    labels = Classification(lang="en", sentiment=Sentiment.NEGATIVE, intent=Intent.COMPLAINT,
                            risks=[Risk.SPAM], tags=["x"], reasons={"risk": ["r"]})
    fast = ClassifiedEvent.of(event, labels, dup_cluster="k", dup_count=2)
    slow = ClassifiedEvent.model_construct(**{
        **event.__pydantic_extra__, **event.__dict__, **labels.__dict__,
        "dup_cluster": "k", "dup_count": 2})
    for a, b in ((fast, slow), (fast.classification(), Classification(**labels.model_dump()))):
        assert a == b
        assert a.__dict__ == b.__dict__
        assert list(a.__dict__) == list(b.__dict__)
        assert a.model_fields_set == b.model_fields_set
        assert a.__pydantic_extra__ == b.__pydantic_extra__
        assert encode(a) == encode(b)
    assert fast.__pydantic_extra__ == {"change": "edited"}
    assert assemble(Classification, labels.__dict__).__pydantic_extra__ is None


def test_the_producer_partitions_keys_as_aiokafka_does() -> None:
    rng = random.Random(0)
    keys = [rng.randbytes(rng.randrange(60)) for _ in range(5000)]
    keys += [b"x:1800000000000000123", "é€".encode(), b"aurore_air"] * 2
    for partitions in ([0], [0, 1, 2, 3], list(range(15))):
        assert [partition_for(k, partitions, partitions) for k in keys] == [
            DefaultPartitioner()(k, partitions, partitions) for k in keys]
    assert partition_for(None, [0, 1, 2, 3], [2]) == 2


def test_a_delivery_without_a_message_is_counted_as_ignored_not_lost() -> None:
    settings = Settings()
    status = (PAYLOADS / "whatsapp" / "status_only_has_no_message.json").read_bytes()
    text = (PAYLOADS / "whatsapp" / "text_message.json").read_bytes()
    pipeline = Pipeline(settings, BrandDirectory.load(), seen={})
    out = pipeline.process([RawRecord(settings.topics.raw(Platform.WHATSAPP), 0, offset, None,
                                      value) for offset, value in enumerate([status, text])])
    assert (out.ignored, len(out.normalized), len(out.dead_letters)) == (1, 1, 0)


def test_private_contacts_are_forgotten_after_their_ttl() -> None:
    """The DM windows' memory would otherwise grow with every person who ever wrote."""
    settings, brands = Settings(), BrandDirectory.load()
    ttl_s = 60.0
    settings = settings.model_copy(update={"dedup": settings.dedup.model_copy(
        update={"contacts_ttl_days": ttl_s / 86_400})})
    records = [RawRecord(settings.topics.raw(m.platform), 0, i, m.key, m.value)
               for i, m in enumerate(Simulator(brands, seed=5).messages(3_000))]
    pipeline = Pipeline(settings, brands)
    out = pipeline.process(records)
    dms = {e.event_id: int(e.created_at.timestamp()) for e, _ in out.classified
           if e.kind == Kind.DM and e.platform in DM_WINDOW_S}
    memory = pipeline.contact_memory
    assert max(dms.values()) - min(dms.values()) > 4 * ttl_s  # spans several TTLs
    assert 0 < len(pipeline.contacts) < len(dms)
    assert min(pipeline.contacts.values()) >= memory.horizon - memory.sweep_every
