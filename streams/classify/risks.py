"""Risk flags (hate, threat, scam, spam, crisis_signal) from weighted cue banks.

Each bank holds named cues, each a precompiled pattern matched on folded text
and tried only when the text holds a word it needs (see :mod:`anchors`); a risk
fires when the weights of its distinct cues reach the bank's threshold, so weak
cues ("partagez", "garanti") only count together. Definitions follow DESIGN.md:
hate targets people (not a company), threat is violence (not legal action).
personal_data comes from :mod:`streams.classify.pii` validators.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from schemas.events import Risk
from streams.classify.anchors import Gate


@dataclass(frozen=True, slots=True, eq=False)
class Cue:
    """One named weighted pattern, matched at a word start."""

    name: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class CueBank:
    """The weighted cues of one risk."""

    risk: Risk
    threshold: float
    cues: tuple[Cue, ...]

    @classmethod
    def build(cls, risk: Risk, threshold: float, cues: dict[str, tuple[float, str]]) -> CueBank:
        return cls(
            risk,
            threshold,
            tuple(
                Cue(name, weight, re.compile(rf"(?<![a-z0-9])(?:{regex})"))
                for name, (weight, regex) in cues.items()
            ),
        )

    def evaluate(self, folded: str, cues: list[Cue]) -> tuple[float, list[str]]:
        """Total weight of the ``cues`` (this bank's candidates) found; evidence in text order.

        Cues are searched one by one, so a match never hides another cue's overlapping one.
        """
        total = 0.0
        hits: list[tuple[int, str]] = []
        for cue in cues:
            if (match := cue.pattern.search(folded)) is not None:
                total += cue.weight
                hits.append((match.start(), f"cue:{cue.name}={match.group()!r}({cue.weight:+.1f})"))
        hits.sort()
        return total, [evidence for _, evidence in hits]


_PERSON = r"(?:te|t'|vous|le|la|les|l')"
_GROUPS = (
    r"(?:muslims?|musulmans?|arabes?|juifs?|jews?|noirs?|blacks?|immigr\w*|migrants?|gays?"
    r"|gauchistes|women|femmes|roms?|chinois)"
)

HATE = CueBank.build(
    Risk.HATE,
    2.0,
    {
        "insult_fr": (
            2.0,
            r"\b(?:connard|connarde|connasse|encule|salope|pute|batard|sous-hommes?|sous hommes?"
            r"|tapette|pede|bougnoule|negre|bouffon|fils de pute)s?\b|\bsale (?:con|pd|arabe|noir"
            r"|juif|race)\b|\b(?:une vraie|un vrai|gros|grosse|espece de) (?:conne?|porc|truie"
            r"|debile|abruti)s?\b|\bdebiles profonds\b|\bgrosse et moche\b|\bpd\b",
        ),
        "insult_en": (
            2.0,
            r"\b(?:moron|idiot|dumbass|imbecile|bitch|b\*tch|scum|cunt)s?\b"
            r"|\b(?:are|you|fucking|f\*cking) retards?\b"
            r"|\b(?:greedy|filthy|fat) (?:pig|rat|immigrant)s?\b|\bbrainless\b",
        ),
        "insult_es_de": (
            2.0,
            r"\b(?:puto|puta|gilipollas|imbecil|cabron|wichser|arschloch|hurensohn|missgeburt)\b"
            r"|\bhalt die fresse\b",
        ),
        "silencing": (2.0, r"\b(?:ferme ta gueule|ta gueule|shut up|callate)\b"),
        "xenophobia": (
            2.0,
            r"\b(?:retourne dans ton pays|go back to your country|rentre chez toi)\b"
            r"|\bexterminer\b|\b" + _GROUPS + r"\b[^.!?]{0,30}\b(?:terroristes?|terrorists?"
            r"|voleurs|thieves|rats|animals|animaux|vermine|shouldn't be allowed)\b",
        ),
        "body_shaming": (1.5, r"\b(?:t'es|tu es|you are|you're) (?:grosse?|moche|fat|ugly)\b"),
        "nobody_loves": (0.5, r"\bpersonne (?:ne )?t'aime\b|\bnobody (?:wants|likes) you\b"),
    },
)

THREAT = CueBank.build(
    Risk.THREAT,
    2.0,
    {
        "kill_fr": (
            2.0,
            r"\b" + _PERSON + r" ?(?:tue|tuer|bute|buter|creve|crever|defonce|defoncer|egorge"
            r"|egorger|tabasse|tabasser|cogne|cogner)\b"
            r"|\b(?:te|vous) ?(?:plante|brule|bruler|crame|cramer)\b"
            r"|\b(?:tuer|buter|egorger|tabasser|descendre)"
            r" (?:le|la|les|ce|cette|ton|ta|tes|votre|vos|tout|un) ",
        ),
        "kill_en": (
            2.0,
            r"\b(?:kill|stab|shoot|murder|strangle|hurt|beat up|smash) (?:you|u|him|her|them"
            r"|your|every|the next|everyone|ur)\b|\bbreak (?:her|his|your|their) (?:face|legs)\b",
        ),
        "kill_es_de": (
            2.0,
            r"\b(?:partir(?:te|os|le|les) la cara|te voy a matar|os voy a matar|matarte|mataros)\b"
            r"|\b(?:schlag|schlage) euch\b|\bbring (?:dich|euch) um\b|\babstechen\b",
        ),
        "stalking": (
            2.0,
            r"\b(?:je sais ou tu habites|i know where you live|sé donde vives|watch your back"
            r"|fais gaffe a toi|je connais l'adresse|je connais ton adresse|t'es mort|tu es mort"
            r"|vous etes morts|you're dead|ya estas muerto)\b",
        ),
        "arson_bomb": (
            2.0,
            r"\b(?:burn (?:your|the|this) \w+ down|set fire to|mettre le feu a"
            r"|(?:bruler|cramer|incendier) (?:votre|ton|ta|vos|tes|l') ?\w+|faire sauter"
            r" (?:votre|ton|ta|l'|la|le|vos) ?(?:agence|magasin|siege|boutique|bureau|avion"
            r"|entrepot)|bomb on your|bombe (?:dans|sur))\b",
        ),
        "weapon": (2.0, r"\b(?:avec un couteau|avec une arme|with a (?:knife|gun|bat)|un fusil)\b"),
        "retaliation": (
            1.0,
            r"\b(?:vous allez le regretter|il va payer|you'll regret|you will pay)\b",
        ),
        "personal_harm": (1.0, r"\bde sa personne\b|\bje vais (?:venir|passer)\b"),
    },
)

SCAM = CueBank.build(
    Risk.SCAM,
    2.5,
    {
        "credentials": (
            1.5,
            r"\b(?:numero de carte|card (?:number|details)|coordonnees bancaires|datos bancarios"
            r"|code au dos|cvv|cryptogramme|identifiants|mot de passe|password|login details"
            r"|entrez votre (?:carte|iban)|enter your card|votre (?:carte bancaire|iban)"
            r"|your iban|ihre pin|code sms|code recu par sms|votre code)\b",
        ),
        "bad_link": (
            1.5,
            r"\bbit\.ly/|\btinyurl\.|\bwa\.me/|\b[a-z0-9\-]+\.(?:xyz|top|click|info|site|biz"
            r"|icu|buzz|live|online)\b",
        ),
        "lookalike_domain": (
            2.0,
            r"\b[a-z0-9]+-(?:[a-z0-9]+-)?(?:secu\w*|secure|login|verif\w*|help|support|renew"
            r"|refund|prize|claims?|cadeau|regalos?|anniv|recovery|sicherheit|livraison)"
            r"[a-z0-9\-]*\.[a-z]{2,}\b",
        ),
        "support_handle": (
            1.0,
            r"@\w*(?:support|helpdesk|help|care|remb|refund|recovery|hacker)\w*",
        ),
        "urgency": (
            1.0,
            r"\b(?:suspension|suspendu|locked|gesperrt|bloque en douane|a expire|expired"
            r"|avant expiration|within 24h|sous 24h|will be deleted|seront supprimees"
            r"|sera supprime|cliquez vite|offre limitee|verify your identity|verify here"
            r"|violates copyright)\b",
        ),
        "prize": (
            1.5,
            r"\b(?:vous avez (?:ete selectionne|gagne)|you(?:'ve| have) won|giveaway|claim (?:it"
            r"|your)|gagner un bon|cartes? cadeaux?|regala|gratis a todos|offre \d+ ?€ a chaque)",
        ),
        "easy_money": (
            2.0,
            r"\b(?:double your|doublez|recevez \d+ ?€? en \d+ ?h|airdrop|usdt|btc|bitcoin"
            r"|crypto|wallet|forex|trading with|invested \$?[\d,]+|got \$?[\d,]+ back"
            r"|made \$[\d,]+|investissez)\b",
        ),
        "fake_fee_or_refund": (
            1.5,
            r"\b(?:pour (?:votre )?indemnisation|compensation|refund form|rembourse tout le monde"
            r"|debloquer votre (?:virement|colis)|pour le debloquer|frais de (?:port|douane)"
            r"|payez \d|just pay|recupere mon compte|compte pirate grace|recover(?:ed)? (?:my|your)"
            r" account)\b",
        ),
        "trust_bait": (
            1.0,
            r"\b(?:she's legit|he's legit|tres efficace|garanti|guaranteed|dm (?:her|him) now"
            r"|contact (?:her|him)|gratuits)\b",
        ),
    },
)

SPAM = CueBank.build(
    Risk.SPAM,
    2.0,
    {
        "follow_bait": (
            2.5,
            r"\b(?:follow ?back|f4f|sub4sub|sub back|follow me|suivez[- ]moi|sigueme|te sigo"
            r"|abonne[- ]toi|like si|likez et partagez|followback)\b",
        ),
        "self_promo": (
            2.0,
            r"\b(?:check (?:out )?my (?:page|profile|channel)|viens voir mon profil|visit my"
            r"|visita mi perfil|in (?:my )?bio|dans (?:ma|notre) bio|in meinem profil"
            r"|dm for collab|promote your page|sur (?:notre|ma) page|my ebook)\b",
        ),
        "easy_money": (
            2.5,
            r"\b(?:gagnez \d+|earn \$?\d+|work from home|depuis chez vous|von zu hause"
            r"|ganar dinero|verdiene \d+|infos en mp|message me for details"
            r"|no experience needed|places limitees)",
        ),
        "fake_audience": (
            2.5,
            r"\b(?:(?:achetez|buy|acheter) des (?:abonnes|likes|followers)|free followers"
            r"|gagner des followers|viewers pas chers|cheapviewz|followers? =|boost ta chaine"
            r"|backlinks|referencement google)",
        ),
        "first": (2.0, r"^first\b|\blike si tu regardes\b"),
        "promo": (
            1.5,
            r"-\d{2}%|\b\d{2}% off\b|\bprix casses\b|\bpas chers?\b|\bcheap\b|\bpromo folle\b"
            r"|\blivraison gratuite\b|\bcode [a-z]+\d+\b|\bseulement\b|\btoday only\b",
        ),
        "url": (
            1.5,
            r"\bwww\.\S+|https?://\S+|\b[a-z0-9\-]+\.(?:shop|biz|top)\b|\b(?:dot|point) com\b",
        ),
    },
)

CRISIS = CueBank.build(
    Risk.CRISIS_SIGNAL,
    2.0,
    {
        "fire": (
            2.0,
            r"\b(?:pris feu|prennent feu|prend feu|en feu|caught fire|on fire|incendies?"
            r"|risques? d'incendie|started smoking|melted|fondu|explose|exploded|feuer gefangen"
            r"|fumee dans|smoke in|engine failure|atterrissage d'urgence|emergency landing)\b",
        ),
        "health": (
            2.0,
            r"\b(?:intoxication|intoxiques?|intoxiquee|empoisonn\w+|food poisoning|aux urgences"
            r"|hospitalis\w+|a l'hopital|in (?:the )?hospital|blesses?|injured|herido|verletzt"
            r"|fracture|could(?:'ve| have) died|j'ai cru mourir|monoxyde|morceaux de verre"
            r"|contamin\w+|got hit)\b",
        ),
        "recall": (
            2.0,
            r"\b(?:rappel produit|rappelle [\d ]+\w+|retirees? de la vente|recall|ruckruf)\b",
        ),
        "breach": (
            2.0,
            r"\b(?:fuite de donnees|data breach|breach|derobees|exposed|cyberattaque"
            r"|piratage massif|hackers have|circulent sur un forum|\w*leak)\b",
        ),
        "outage": (
            2.0,
            r"\b(?:down for everyone|panne generale|panne geante|outage|plus personne n'a acces"
            r"|\w+down\b|des milliers de|thousands of|c'est le chaos)",
        ),
        "scandal": (
            2.0,
            r"\b(?:boycott\w*|harcelement|harassment|enquete pour|perquisition\w*|blanchiment"
            r"|greve illimitee|appelle a (?:la )?greve|exploitent|discriminat\w+"
            r"|fired a \w+ for)\b",
        ),
        "danger": (
            1.5,
            r"\b(?:dangereux|dangerous|unsafe|peligro\w*|sin frenos|sans freins|failing"
            r"|perdu sa roue)\b",
        ),
        "spread": (
            1.0,
            r"\b(?:partagez|faites tourner|rt so|share this|il faut que ca se sache"
            r"|ca tourne partout|de vues|plusieurs personnes|several people|mehrere leute"
            r"|pas le seul|not the only|like \d+ people|sent le brule|volés?|voles)\b",
        ),
    },
)

BANKS: tuple[CueBank, ...] = (HATE, THREAT, SCAM, SPAM, CRISIS)
# Each cue runs only on texts holding a word (or literal) it cannot match without.
_GATE = Gate((cue, cue.pattern.pattern) for bank in BANKS for cue in bank.cues)
_RISK_OF: dict[Cue, Risk] = {cue: bank.risk for bank in BANKS for cue in bank.cues}


def detect_risks(folded: str, words: AbstractSet[str]) -> dict[Risk, list[str]]:
    """Risks whose cue weight reaches the threshold, with the evidence for each.

    ``words`` are the ``[a-z0-9]+`` runs of ``folded`` (see :class:`text.Prepared`).
    A bank whose candidate cues could not reach its threshold even if all matched
    is not searched at all (one weak cue alone is the common case).
    """
    found: dict[Risk, list[str]] = {}
    by_risk: dict[Risk, list[Cue]] = {}
    for cue in _GATE.candidates(words, folded):
        by_risk.setdefault(_RISK_OF[cue], []).append(cue)
    if not by_risk:
        return found
    for bank in BANKS:
        cues = by_risk.get(bank.risk)
        if cues is None or sum(cue.weight for cue in cues) < bank.threshold:
            continue
        total, evidence = bank.evaluate(folded, cues)
        if total >= bank.threshold:
            evidence.append(f"score={total:.1f}>={bank.threshold:.1f}")
            found[bank.risk] = evidence
    return found
