"""Scripted traffic days with ground truth, at the normalized-event level, for surge evaluation.

``scenario(name, seed)`` returns a :class:`Scenario`: an iterator of ``SocialEvent``s in
event-time order and the incidents a detector must find in it. Every scenario is
one ordinary day (so baselines can learn the daily cycle) followed by the scripted
day. Traffic is multi-brand (the bundled brand directory), spread over the 15
contract platforms, in French and English, with a daily cycle. Each event carries
its expected polarity as a ``sentiment`` extra key; texts are written so that a
classifier finds the same signal. Deterministic for a given seed.

The simulator renders these events as raw platform payloads; this module only
decides what is said, where, when and by whom. ``vigie run`` scripts its incident
with the same building blocks (:func:`traffic`, :func:`spike`, the stories).
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.brands import Brand, BrandDirectory
from lab.encoders import KINDS
from schemas.alerts import AlertKind
from schemas.events import Platform, Sentiment, SocialEvent

DAY = timedelta(days=1)
SCRIPTED_DAY = datetime(2026, 11, 3, tzinfo=UTC)

# Share of a brand's messages per platform (all 15 contract platforms).
PLATFORM_MIX: dict[Platform, float] = {
    Platform.X: 0.22, Platform.FACEBOOK: 0.14, Platform.INSTAGRAM: 0.14,
    Platform.WHATSAPP: 0.06, Platform.MESSENGER: 0.05, Platform.TIKTOK: 0.09,
    Platform.YOUTUBE: 0.05, Platform.LINKEDIN: 0.03, Platform.GOOGLE_REVIEWS: 0.04,
    Platform.TRIPADVISOR: 0.02, Platform.NEWS: 0.02, Platform.FORUM: 0.05,
    Platform.WEB_COMMENTS: 0.05, Platform.TELEGRAM: 0.02, Platform.TWITCH: 0.02,
}
# Relative volume per hour of day: quiet nights, lunch and evening peaks.
DAILY_CYCLE = (
    0.35, 0.22, 0.14, 0.10, 0.09, 0.12, 0.25, 0.45, 0.62, 0.68, 0.70, 0.74,
    0.85, 0.80, 0.70, 0.68, 0.70, 0.75, 0.85, 0.95, 1.00, 0.95, 0.80, 0.55,
)
# Messages per minute at the evening peak, per brand key (others get 8).
PEAK_RATE = {"aurore_air": 18.0, "velo_city": 30.0, "maison_lumen": 8.0, "nordbank": 8.0}
POLARITY_MIX = {Sentiment.NEGATIVE: 0.22, Sentiment.NEUTRAL: 0.48, Sentiment.POSITIVE: 0.30}

TOPICS = {
    "aurore_air": (
        ("mon vol", "ma valise", "l'enregistrement en ligne", "mon remboursement",
         "l'appli", "l'embarquement", "ma réservation", "le repas à bord"),
        ("my flight", "my suitcase", "online check-in", "my refund", "the app",
         "boarding", "my booking", "the onboard meal"),
    ),
    "velo_city": (
        ("mon vélo", "la batterie", "l'appli", "mon abonnement", "la borne",
         "ma location", "les freins", "le casque"),
        ("my bike", "the battery", "the app", "my subscription", "the dock",
         "my rental", "the brakes", "the helmet"),
    ),
    "maison_lumen": (
        ("ma commande", "ma lampe", "la livraison", "mon retour", "le site",
         "ma facture", "le magasin", "le canapé"),
        ("my order", "my lamp", "the delivery", "my return", "the website",
         "my invoice", "the store", "the sofa"),
    ),
    "nordbank": (
        ("ma carte", "mon virement", "l'appli", "mon conseiller", "mon compte",
         "le prêt", "les frais", "l'agence"),
        ("my card", "my transfer", "the app", "my advisor", "my account",
         "the loan", "the fees", "the branch"),
    ),
}
GENERIC_TOPICS = (("le service", "la commande", "l'appli"), ("the service", "my order", "the app"))

# Everyday messages: (French, English) templates per polarity.
EVERYDAY = {
    Sentiment.NEGATIVE: (
        ("{topic} {brand} ne fonctionne toujours pas, c'est inadmissible",
         "Très déçu par {brand}, {topic} est une catastrophe",
         "Ça fait {n} jours que j'attends une réponse de {brand} pour {topic}",
         "Bravo {brand}, {topic} encore en panne 👏",
         "{brand} honte à vous, {topic} c'est n'importe quoi",
         "Plus jamais {brand}, {topic} nul et personne ne répond",
         "Franchement {brand} vous abusez, {topic} toujours bloqué",
         "Service déplorable chez {brand}, {topic} perdu et aucune excuse"),
        ("{topic} with {brand} is still broken, unacceptable",
         "Really disappointed with {brand}, {topic} was a disaster",
         "Waited {n} days for {brand} to fix {topic}. Terrible service",
         "Great job {brand}, {topic} down again 🙄",
         "Never again {brand}, {topic} is a joke and nobody answers",
         "{brand} lost {topic} and won't even apologize. Awful"),
    ),
    Sentiment.POSITIVE: (
        ("Merci {brand}, {topic} impeccable, je recommande !",
         "Super expérience avec {brand}, {topic} au top 👍",
         "Bravo à l'équipe {brand} pour {topic}, rapide et efficace",
         "J'adore {brand}, {topic} parfait comme toujours ❤️",
         "Très satisfait de {brand}, {topic} nickel"),
        ("Thanks {brand}, {topic} was flawless, highly recommend!",
         "Loving {brand}, {topic} works perfectly ❤️",
         "Great experience with {brand}, {topic} was quick and easy",
         "Shoutout to the {brand} team for {topic}, amazing service"),
    ),
    Sentiment.NEUTRAL: (
        ("Bonjour {brand}, comment modifier {topic} ?",
         "Quelqu'un sait si {topic} {brand} marche à l'étranger ?",
         "{brand} : quels sont les horaires pour {topic} ?",
         "Je viens de passer par {brand} pour {topic}",
         "Info : {brand} change les conditions pour {topic}"),
        ("Hi {brand}, how do I change {topic}?",
         "Does anyone know if {brand} {topic} works abroad?",
         "Just used {brand} for {topic}",
         "What are {brand}'s hours for {topic}?"),
    ),
}
OPENERS = (("", "", "", "Sérieusement, ", "Bon, ", "Alors ", "@{handle} "),
           ("", "", "", "Honestly, ", "Well, ", "So ", "@{handle} "))
CLOSERS = ("", "", "", " !", " ...", " {tag}", " 🙂", " 😡", " #{hour}h")


@dataclass(frozen=True, slots=True)
class Story:
    """What people say during an incident: facts × reactions × tags, per language."""

    facts: tuple[tuple[str, ...], tuple[str, ...]]
    reactions: tuple[tuple[str, ...], tuple[str, ...]]
    tags: tuple[str, ...]

    def render(self, rng: random.Random, brand: str) -> str:
        lang = rng.random() < 0.35
        fact = rng.choice(self.facts[lang]).format(brand=brand, n=rng.randrange(2, 40))
        reaction = rng.choice(self.reactions[lang]).format(brand=brand)
        tag = rng.choice(self.tags)
        opener = rng.choice(OPENERS[lang]).format(handle=f"user{rng.randrange(9999)}")
        if rng.random() < 0.5:
            return f"{opener}{brand} : {fact}, {reaction} {tag}".strip()
        return f"{opener}{reaction.capitalize()} : {fact} {tag}".strip()


CANCELLATION = Story(
    (("vol annulé à la dernière minute", "passagers bloqués à l'aéroport de Nice",
      "annulation sans aucune explication", "on dort par terre au terminal de Nice",
      "aucun hôtel proposé après l'annulation", "enfants bloqués à Nice depuis {n} heures"),
     ("flight cancelled last minute", "passengers stranded at Nice airport",
      "cancellation with zero explanation", "sleeping on the floor at Nice terminal",
      "no hotel offered after the cancellation", "kids stuck at Nice for {n} hours")),
    (("c'est scandaleux", "honte à {brand}", "personne ne nous répond", "on est abandonnés",
      "c'est inadmissible", "{brand} méprise ses clients"),
     ("this is outrageous", "shame on {brand}", "nobody answers us", "we have been abandoned",
      "unacceptable", "{brand} does not care about customers")),
    ("#AuroreAirGate", "#annulation", "", "😡", "#Nice", "#AuroreAirGate 😡"),
)
BATTERY_FIRE = Story(
    (("une batterie {brand} a pris feu dans mon garage",
      "mon vélo {brand} a surchauffé pendant la recharge",
      "encore une batterie {brand} qui explose", "vidéo d'un vélo {brand} en feu dans la rue",
      "les pompiers sont venus pour une batterie {brand}",
      "fumée noire sortie de la batterie de mon vélo"),
     ("a {brand} battery caught fire in my garage", "my {brand} bike overheated while charging",
      "another {brand} battery exploding", "video of a {brand} bike on fire in the street",
      "firefighters came for a {brand} battery", "black smoke coming out of my bike battery")),
    (("c'est dangereux", "{brand} doit rappeler ces vélos", "on aurait pu mourir",
      "silence total de {brand}", "je ne laisse plus mes enfants rouler avec", "inacceptable"),
     ("this is dangerous", "{brand} must recall these bikes", "we could have died",
      "total silence from {brand}", "my kids will never ride it again", "unacceptable")),
    ("#VeloCityFire", "#batterie", "🔥", "", "#rappel", "#VeloCityFire 🔥"),
)
STRIKE = Story(
    (("grève surprise du personnel {brand}", "tous les vols {brand} de Lyon annulés",
      "{brand} annule mon vol à cause de la grève", "file d'attente énorme au comptoir {brand}",
      "aucun vol de remplacement pendant la grève", "grève {brand} et toujours aucune info"),
     ("surprise strike at {brand}", "all {brand} flights from Lyon cancelled",
      "{brand} cancelled my flight because of the strike", "huge queue at the {brand} desk",
      "no replacement flight during the strike", "{brand} strike and still no information")),
    (("c'est le chaos", "on est otages", "remboursez-nous", "honte à {brand}",
      "vacances gâchées", "personne ne répond"),
     ("total chaos", "we are hostages", "refund us now", "shame on {brand}",
      "holiday ruined", "nobody answers")),
    ("#GreveAuroreAir", "#greve", "😤", "", "#Lyon", "#GreveAuroreAir 😤"),
)
BANK_OUTAGE = Story(
    (("appli {brand} en panne depuis ce matin", "impossible de payer avec ma carte {brand}",
      "virements {brand} bloqués", "mon salaire n'apparaît pas sur mon compte {brand}",
      "paiement refusé au supermarché avec {brand}", "site {brand} inaccessible"),
     ("{brand} app down since this morning", "my {brand} card keeps getting declined",
      "{brand} transfers blocked", "my salary is missing from my {brand} account",
      "payment refused at the supermarket with {brand}", "{brand} website unreachable")),
    (("c'est inadmissible", "on fait comment pour payer", "aucune communication",
      "je change de banque", "ras le bol", "honteux"),
     ("this is unacceptable", "how am I supposed to pay", "zero communication",
      "switching banks", "fed up", "disgraceful")),
    ("#NordBankDown", "#panne", "😡", "", "#carte", "#NordBankDown 😡"),
)
CAMPAIGN = Story(
    (("la nouvelle pub {brand} est géniale", "le défi #VeloCityChallenge est trop drôle",
      "j'ai adoré la vidéo {brand} avec les cyclistes",
      "meilleure campagne de l'année pour {brand}",
      "la chanson de la pub {brand} tourne en boucle",
      "le clip {brand} sur les quais est magnifique"),
     ("the new {brand} ad is brilliant", "the #VeloCityChallenge is hilarious",
      "loved the {brand} video with the riders", "best campaign of the year by {brand}",
      "can't stop playing the {brand} ad song", "the {brand} clip on the riverside is beautiful")),
    (("bravo", "trop fort", "j'adore", "génial", "chapeau {brand}", "énorme"),
     ("well done", "amazing", "love it", "brilliant", "hats off to {brand}", "so good")),
    ("#VeloCityChallenge", "😍", "", "👏", "#pub", "#VeloCityChallenge 😍"),
)
DOUBLE_CHARGE = Story(
    (("site {brand} en panne, commande débitée deux fois",
      "double prélèvement sur ma commande {brand}", "paiement {brand} débité deux fois cette nuit",
      "{brand} m'a facturé deux fois la même commande"),
     ("{brand} website crashed and charged me twice", "double charge on my {brand} order",
      "{brand} payment taken twice tonight", "{brand} billed me twice for the same order")),
    (("remboursez-moi", "c'est inadmissible", "personne ne répond", "arnaque ou bug ?"),
     ("refund me", "unacceptable", "nobody answers", "scam or bug?")),
    ("#doubleprelevement", "😡", "", "#MaisonLumen"),
)
COPYPASTA = (
    "🚨 ATTENTION {brand} est une ARNAQUE : ils encaissent et ne livrent jamais, des milliers "
    "de victimes, partagez avant qu'ils suppriment ce message 👉 https://bit.ly/{code} @{handle}"
)


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth: what a detector must report (brand is None for silences)."""

    kind: AlertKind
    brand: str | None
    platforms: tuple[Platform, ...]
    polarity: str | None
    start: datetime
    end: datetime
    label: str
    origin_event_id: str | None = None
    deadline: timedelta | None = None  # longest acceptable detection delay, if any


@dataclass(frozen=True, slots=True)
class Burst:
    """Extra messages during an incident (or a bot wave): ``rate(minutes since start)``."""

    brand: str
    polarity: Sentiment
    platforms: dict[Platform, float]
    start: datetime
    end: datetime
    rate: Callable[[float], float]
    story: Story | None = None
    bots: bool = False
    origin_followers: int = 0
    origin_id: str | None = None


@dataclass(frozen=True, slots=True)
class Outage:
    platforms: frozenset[Platform]
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Script:
    """One scenario's setup: volume, noise, bursts, outages and the resulting truth."""

    description: str
    volume: float = 1.0
    noise: float = 0.0  # coefficient of variation of the per-minute rate
    bursts: tuple[Burst, ...] = ()
    outages: tuple[Outage, ...] = ()
    incidents: tuple[Incident, ...] = ()


@dataclass
class Scenario:
    """Events in event-time order (one ordinary day, then the scripted day) and the truth."""

    name: str
    description: str
    start: datetime
    scripted_from: datetime
    events: Iterator[SocialEvent]
    incidents: list[Incident] = field(default_factory=list)


def _at(hour: float) -> datetime:
    return SCRIPTED_DAY + timedelta(hours=hour)


def _ramp(up: float, hold: float, down: float, peak: float) -> Callable[[float], float]:
    """Extra messages per minute: linear rise over ``up`` min, plateau, linear decay."""

    def rate(t: float) -> float:
        if t < up:
            return peak * (t + 1) / up
        if t < up + hold:
            return peak
        return max(0.0, peak * (1 - (t - up - hold) / down))

    return rate


def spike(brand: str, polarity: Sentiment, platforms: dict[Platform, float], begin: datetime,
          minutes: tuple[float, float, float], peak: float, story: Story, label: str,
          origin_followers: int = 0, deadline: float | None = None) -> tuple[Burst, Incident]:
    """A burst of ``story`` messages (rise, plateau, decay, in minutes) and its ground truth."""
    up, hold, down = minutes
    end = begin + timedelta(minutes=up + hold + down)
    origin = f"x:origin-{brand}-{begin:%H%M}" if origin_followers else None
    burst = Burst(brand, polarity, platforms, begin, end, _ramp(up, hold, down, peak), story,
                  origin_followers=origin_followers, origin_id=origin)
    incident = Incident(AlertKind.SPIKE, brand, tuple(platforms), polarity.value, begin, end,
                        label, origin, None if deadline is None else timedelta(minutes=deadline))
    return burst, incident


def _scripts() -> dict[str, Script]:
    neg, pos = Sentiment.NEGATIVE, Sentiment.POSITIVE
    sharp = spike("aurore_air", neg, {Platform.X: 0.6, Platform.FACEBOOK: 0.2,
                                      Platform.INSTAGRAM: 0.1, Platform.TIKTOK: 0.1},
                  _at(10.1), (3, 30, 60), 40.0, CANCELLATION, "flight cancellation in Nice",
                  origin_followers=250_000, deadline=10)
    slow_platforms = {Platform.X: 0.3, Platform.TIKTOK: 0.2, Platform.INSTAGRAM: 0.15,
                      Platform.FACEBOOK: 0.1, Platform.YOUTUBE: 0.1, Platform.NEWS: 0.05,
                      Platform.FORUM: 0.1}
    slow = spike("velo_city", neg, slow_platforms, _at(10.5), (180, 60, 60), 4.0 * 5.0,
                 BATTERY_FIRE, "battery fires, building over 3 hours", deadline=45)
    viral = spike("velo_city", pos, {Platform.TIKTOK: 0.4, Platform.INSTAGRAM: 0.3,
                                     Platform.X: 0.2, Platform.YOUTUBE: 0.1},
                  _at(17.0), (20, 90, 60), 60.0, CAMPAIGN, "ad campaign going viral")
    night = spike("maison_lumen", neg, {Platform.X: 0.5, Platform.FACEBOOK: 0.3,
                                        Platform.GOOGLE_REVIEWS: 0.2},
                  _at(2.5), (5, 30, 15), 2.0, DOUBLE_CHARGE, "night-time double charges")
    strike = spike("aurore_air", neg, {Platform.X: 0.5, Platform.FACEBOOK: 0.2,
                                       Platform.INSTAGRAM: 0.2, Platform.NEWS: 0.1},
                   _at(11.0), (15, 90, 60), 60.0, STRIKE, "surprise strike")
    bank = spike("nordbank", neg, {Platform.X: 0.5, Platform.FACEBOOK: 0.2,
                                   Platform.GOOGLE_REVIEWS: 0.1, Platform.FORUM: 0.2},
                 _at(12.0), (10, 60, 40), 30.0, BANK_OUTAGE, "banking app outage")
    wave = Burst("maison_lumen", neg, {Platform.X: 0.6, Platform.FACEBOOK: 0.2,
                                       Platform.INSTAGRAM: 0.2},
                 _at(15.0), _at(15.5), lambda _t: 30.0, bots=True)
    meta = frozenset({Platform.FACEBOOK, Platform.INSTAGRAM, Platform.WHATSAPP})
    outage = Outage(meta, _at(14.2), _at(20.0))
    outage_truth = Incident(AlertKind.SILENCE, None, tuple(sorted(meta)), None, outage.start,
                            outage.end, "Facebook, Instagram and WhatsApp down",
                            deadline=timedelta(minutes=10))
    return {
        "quiet_day": Script("an ordinary day with its daily cycle and no incident"),
        "sharp_spike": Script("a flight cancellation: sharp negative spike on X first",
                              bursts=(sharp[0],), incidents=(sharp[1],)),
        "slow_crisis": Script("battery fires: negative crisis growing x1→x5 over 3 h on "
                              "seven platforms", bursts=(slow[0],), incidents=(slow[1],)),
        "platform_outage": Script("Facebook, Instagram and WhatsApp silent for hours while "
                                  "the other networks continue", outages=(outage,),
                                  incidents=(outage_truth,)),
        "viral_and_night": Script("a campaign going viral (positive) and a small night-time "
                                  "negative spike on a tiny baseline",
                                  bursts=(viral[0], night[0]), incidents=(night[1], viral[1])),
        "noisy_day": Script("a noisy high-volume day: two overlapping crises and a spam-bot "
                            "copypasta wave (which is not a crisis)", volume=2.0, noise=0.2,
                            bursts=(strike[0], bank[0], wave), incidents=(strike[1], bank[1])),
    }


SCENARIOS: dict[str, Script] = _scripts()


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0.0:
        return 0
    if mean > 40.0:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _cycle(moment: datetime) -> float:
    hour = moment.hour + moment.minute / 60.0
    low = int(hour)
    frac = hour - low
    return DAILY_CYCLE[low] * (1 - frac) + DAILY_CYCLE[(low + 1) % 24] * frac


class _Picker:
    """Weighted choice with precomputed cumulative weights (``random.choices`` redoes them)."""

    def __init__(self, weights: dict[Platform, float]) -> None:
        self.items = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def __call__(self, rng: random.Random) -> Platform:
        return self.items[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]


class _Writer:
    """Turns (brand, polarity, platform, second) decisions into ``SocialEvent``s."""

    def __init__(self, rng: random.Random, directory: BrandDirectory, ids: str,
                 platforms: dict[Platform, float]) -> None:
        self.rng = rng
        self.directory = directory
        self.ids = ids
        self.serial = 0
        self.mix = _Picker(platforms)

    def everyday_text(self, brand: Brand, polarity: Sentiment) -> str:
        rng = self.rng
        lang = rng.random() < 0.35
        topics = TOPICS.get(brand.key, GENERIC_TOPICS)[lang]
        text = rng.choice(EVERYDAY[polarity][lang]).format(
            brand=brand.name, topic=rng.choice(topics), n=rng.randrange(2, 15))
        opener = rng.choice(OPENERS[lang]).format(handle=f"user{rng.randrange(99999)}")
        closer = rng.choice(CLOSERS).format(
            tag=rng.choice(brand.hashtags or ("#service",)), hour=rng.randrange(24))
        return f"{opener}{text}{closer}"

    def event(self, brand: Brand, polarity: Sentiment, platform: Platform, at: datetime,
              text: str, *, bot: bool = False, followers: int | None = None,
              event_id: str | None = None) -> SocialEvent:
        rng = self.rng
        self.serial += 1
        author = f"{'bot' if bot else 'u'}{rng.randrange(10**9):09d}"
        if followers is None:
            followers = rng.randrange(3, 40) if bot else int(rng.paretovariate(1.1) * 30)
        return SocialEvent(
            event_id=event_id or f"{platform.value}:{self.ids}{self.serial:09d}",
            platform=platform,
            kind=rng.choice(KINDS[platform]),
            brand=brand.key,
            author={"id": author, "handle": f"{author[:1]}{author[-6:]}", "followers": followers},
            text=text,
            created_at=at,
            direct=rng.random() < 0.6,
            sentiment=polarity.value,
        )


def traffic(script: Script, start: datetime, minutes: int, seed: int,
            directory: BrandDirectory, *, brands: Collection[str] | None = None,
            platforms: dict[Platform, float] = PLATFORM_MIX,
            ids: str = "sc") -> Iterator[SocialEvent]:
    """``minutes`` of the script's traffic from ``start``, in event-time order.

    Everyday messages of ``brands`` (every brand of the directory by default) follow
    the daily cycle, spread over ``platforms`` (shares); the script's bursts and
    outages apply where they overlap the window. Event ids are
    ``<platform>:<ids><serial>``: give traffic that goes to the same pipeline
    distinct ``ids``.
    """
    rng = random.Random(seed)
    writer = _Writer(rng, directory, ids, platforms)
    talked_about = [b for b in directory.brands.values() if brands is None or b.key in brands]
    pickers = [_Picker(burst.platforms) for burst in script.bursts]
    days = range(-(-minutes // 1440))
    day_level = {(day, b.key): rng.uniform(0.95, 1.05) for day in days for b in talked_about}
    for minute in range(minutes):
        moment = start + timedelta(minutes=minute)
        day = minute // 1440
        batch: list[SocialEvent] = []
        noise = rng.gammavariate(1 / script.noise**2, script.noise**2) if script.noise else 1.0
        for brand in talked_about:
            level = PEAK_RATE.get(brand.key, 8.0) * script.volume * day_level[day, brand.key]
            rate = level * _cycle(moment) * noise
            for polarity, share in POLARITY_MIX.items():
                for _ in range(_poisson(rng, rate * share)):
                    at = moment + timedelta(seconds=rng.randrange(60))
                    batch.append(writer.event(brand, polarity, writer.mix(rng), at,
                                              writer.everyday_text(brand, polarity)))
        for burst, picker in zip(script.bursts, pickers, strict=True):
            if not burst.start <= moment < burst.end:
                continue
            brand = directory.brands[burst.brand]
            elapsed = (moment - burst.start).total_seconds() / 60.0
            for _ in range(_poisson(rng, burst.rate(elapsed))):
                at = moment + timedelta(seconds=rng.randrange(60))
                if burst.story is None:
                    text = COPYPASTA.format(brand=brand.name, code=rng.randrange(10**6),
                                            handle=f"victime{rng.randrange(10**4)}")
                else:
                    text = burst.story.render(rng, brand.name)
                batch.append(writer.event(brand, burst.polarity, picker(rng),
                                          at, text, bot=burst.bots))
            if elapsed == 0.0 and burst.story is not None and burst.origin_id is not None:
                batch.append(writer.event(brand, burst.polarity, Platform.X, moment,
                                          burst.story.render(rng, brand.name),
                                          followers=burst.origin_followers,
                                          event_id=burst.origin_id))
        for outage in script.outages:
            if outage.start <= moment < outage.end:
                batch = [e for e in batch if e.platform not in outage.platforms]
        batch.sort(key=lambda e: e.created_at)
        yield from batch


def scenario(name: str, seed: int = 0, directory: BrandDirectory | None = None) -> Scenario:
    """The named scenario (a key of :data:`SCENARIOS`); same seed, same events."""
    script = SCENARIOS[name]
    events = traffic(script, SCRIPTED_DAY - DAY, 2 * 1440, seed,
                     directory or BrandDirectory.load())
    return Scenario(name, script.description, SCRIPTED_DAY - DAY, SCRIPTED_DAY, events,
                    list(script.incidents))
