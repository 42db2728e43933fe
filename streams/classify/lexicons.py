"""Opinion lexicons (FR, EN, ES, DE), written in folded form (see :func:`text.fold`).

Weights are valences in [-2, 2]. Words listed here are *opinion* words: the
vocabulary of incidents (fire, injury, breach) lives in :mod:`risks`, so that a
news article reporting a crisis stays neutral while the crisis is flagged.
"""

from __future__ import annotations


def _weighted(weight: float, words: str) -> dict[str, float]:
    return dict.fromkeys(words.split(), weight)


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


VALENCE: dict[str, float] = {
    # positive
    **_weighted(
        2.0,
        "excellent excellente excellents parfait parfaite parfaits impeccable impeccables "
        "adorable adorables magnifique magnifiques genial geniale geniaux incroyable "
        "amazing awesome perfect outstanding fantastic wonderful love loved loving obsessed "
        "legends legend encanta excelente perfecto genial toll hervorragend wunderbar "
        "tuerie best meilleur meilleure meilleurs meilleures fan",
    ),
    **_weighted(
        1.5,
        "super top bravo merci thanks thank thx great good lovely nice enjoyed brilliant "
        "beau belle beaux belles satisfait satisfaite ravi ravie recommande recommend "
        "recommended recommandons reussite felicitations congrats congratulations "
        "props fluide fluides rapide sympa agreable agreables nickel efficace chapeau "
        "comfy smooth sleek friendly fier fiere contente content heureux heureuse "
        "gracias bueno buena amable rapido danke gut schnell empfehlen qualite "
        "adore adorent kudos shoutout deserved merite breeze assurent gg",
    ),
    **_weighted(
        1.0,
        "bien cool ok sereine aimable reactif reactive propre propres simple simples "
        "soignee soigne fine clean happy glad helpful punctual puntuales puntual "
        "amables rapida netter nett freundlich punktlich dingue ecoute",
    ),
    # negative
    **_weighted(
        -2.0,
        "nul nulle nuls inadmissible inacceptable honte horrible catastrophe catastrophique "
        "scandaleux scandale worst terrible awful unacceptable disgusting pathetic "
        "pesimo pesima katastrophal katastrophaler unverschamt "
        "merde joke arnaque escroc escrocs voleurs robo ridiculous",
    ),
    **_weighted(
        -1.5,
        "bad mauvais mauvaise decu decue decevant decevante deception disappointed "
        "disappointing useless incompetent incompetente incompetents injoignable "
        "inexistant inexistante buggee buggy bugge plante plantent crash crashes crashing "
        "crashed casse cassee casses cassees abime abimee abimes deglingues sales "
        "rude desagreable mediocre bacle baclee pire penible galere ras bol "
        "furieux furieuse enerve enervee ugh wtf smh mal malo roto rota kaputt schlecht "
        "schlimm ruined broken torn lost perdu perdue perdus debile injouable lag "
        "frustrated annoying angry fed greedy regrette regret slam decevoir arrogant "
        "tarde retraso arrogante",
    ),
    **_weighted(
        -1.0,
        "retard retards retarde retardee delay delayed delays annule annulee annules "
        "cancelled canceled cancellations panne pannes hs bug bugs attente attends attendre "
        "waiting wait hold "
        "cher chere expensive refuse refusee refused late eventre eventree "
        "verspatung otra wieder resilie cancel cancelling downhill died dead mort "
        "froid cold dirty lent slow",
    ),
}

# Multi-word expressions, matched before tokens and then blanked out so their
# words are not counted twice ("pas mal" is praise, "pas terrible" is not).
PHRASES: dict[str, float] = {
    "pas mal": 1.5,
    "pas terrible": -1.5,
    "pas top": -1.5,
    "pas fou": -1.0,
    "pas ouf": -1.5,
    "pas serieux": -1.5,
    "pas de souci": 0.0,
    "pas de probleme": 0.0,
    "rien a redire": 2.0,
    "rien a dire": 1.5,
    "rien ne va": -2.0,
    "merci pour rien": -2.5,
    "thanks for nothing": -2.5,
    "gracias por nada": -2.5,
    "nada mal": 1.5,
    "nicht schlecht": 1.5,
    "jamais plus": -1.5,
    "never again": -2.0,
    "nie wieder": -2.0,
    "a fuir": -2.0,
    "a eviter": -2.0,
    "avoid": -2.0,
    "no lo recomiendo": -2.0,
    "je ne recommande pas": -2.0,
    "sans reponse": -1.5,
    "aucune reponse": -1.5,
    "no answer": -1.5,
    "nobody answers": -1.5,
    "personne ne repond": -1.5,
    "nadie contesta": -1.5,
    "keine antwort": -1.5,
    "vous etes serieux": -1.5,
    "seriously": -0.5,
    "c'est une blague": -1.5,
    "vous vous foutez de nous": -2.0,
    "foutez de nous": -2.0,
    "on attendait mieux": -1.5,
    "ne marche pas": -1.5,
    "ne marche plus": -1.5,
    "not working": -1.5,
    "doesn't work": -1.5,
    "zero issues": 1.5,
    "aucun souci": 1.5,
    "jamais eu de souci": 1.5,
    "jamais eu un": 0.0,
    "la concurrence": -1.0,
    "so done": -1.5,
    "world class": 1.0,
    "ca fait du bien": 1.5,
    "what's the point": -1.5,
    "c quoi ce service": -1.5,
    "c'est quoi ce service": -1.5,
    "pas un mot": -1.0,
    "toujours pas": -1.0,
    "toujours rien": -1.5,
    "still not": -1.0,
    "still waiting": -1.5,
    "still no": -1.0,
    "pas d'excuse": -1.0,
    "trop beau": 2.0,
    "can't believe": 0.0,
    "cannot believe": 0.0,
    "le meilleur tarif": 0.0,
    "meilleur prix": 0.0,
    "best price": 0.0,
    "non merci": -1.5,
    "frais caches": -1.5,
    "hidden fees": -1.5,
    "en hausse": -1.0,
}

# Reports of a bad experience that carry no opinion word ("débité 3 fois",
# "never arrived", "sans mon accord"), matched as patterns on folded text.
GRIEVANCES: tuple[str, ...] = (
    r"\b(?:debite|preleve|facture|charged|cobrado|belastet)\w* (?:\w+ ){0,3}"
    r"(?:\d|deux|trois|two|three|dos|doppelt) ?(?:fois|times|veces)?\b",
    r"\btwice\b|\bdeux fois\b|\bdos veces\b|\bdoppelt\b",
    r"\bsans (?:mon|votre) accord\b|\bwithout my (?:consent|permission)\b",
    r"\bnever (?:took|ordered|agreed|arrived|received)\b|\bjamais (?:recu|autorise|commande)",
    r"\bnot delivered\b|\bpas (?:recu|livre)\b|\bwhere is my\b|\bou est (?:ma|mon)\b",
    r"\bporter plainte\b|\bmediateur\b|\bavocat\b|\blawyer\b|\bto court\b",
    r"\bmoney back\b|\bmon argent\b|\bmon fric\b|\bmi dinero\b|\bmein geld\b",
)
COURTESY: frozenset[str] = _words("merci thanks thank thx gracias danke")

NEGATORS: frozenset[str] = _words(
    "pas jamais aucun aucune sans ni not no never nothing without hardly nada nunca sin "
    "nicht kein keine keinen nie niemals ohne"
)
# Words that cancel a preceding negator ("jamais eu un vol aussi agréable").
NEGATION_BREAKERS: frozenset[str] = _words("aussi autant si so as mais but")

INTENSIFIERS: frozenset[str] = _words(
    "tres vraiment trop tellement hyper grave absolument totalement completement "
    "very really so sooo soo extremely absolutely totally truly seriously highly "
    "muy super sehr echt wirklich"
)

EMOJI: dict[str, float] = {
    "😍": 2.0,
    "❤": 1.5,
    "🥰": 2.0,
    "😊": 1.5,
    "🙌": 1.5,
    "👍": 1.0,
    "💪": 1.0,
    "✨": 0.5,
    "🤍": 1.5,
    "💜": 1.5,
    "🥹": 1.0,
    "👌": 1.0,
    "☀": 0.5,
    "🙏": 0.5,
    "😁": 1.5,
    "😀": 1.0,
    "🎉": 0.5,
    "💯": 1.0,
    "😡": -2.0,
    "🤬": -2.0,
    "😤": -1.5,
    "😠": -2.0,
    "👎": -1.5,
    "😞": -1.5,
    "😢": -1.0,
    "🤢": -1.5,
    "🤮": -2.0,
    "💩": -2.0,
    "😬": -1.0,
    "🙄": -1.5,
    "🤡": -2.0,
    "🤦": -1.5,
    "🙃": -1.0,
    "😒": -1.5,
}

# Praise words that sarcasm turns around ("Bravo, 6 h de retard 👏").
SARCASM_PRAISE: frozenset[str] = _words(
    "bravo merci genial super great wonderful thanks incroyable chapeau toll gemacht "
    "excellent parfait inoubliable meilleurs best fantastic job class"
)
# Markers that, next to praise, signal irony.
SARCASM_EMOJI: str = "👏🙄🙃🤡🤦😒"
# Facts of a bad experience: next to praise words they reveal sarcasm.
GRIEVANCE_FACTS: frozenset[str] = _words(
    "retard retards delay delayed annule cancelled canceled lost perdu perdue panne "
    "plante plantent crash crashes attente hold tarmac died broken casse debite "
    "verspatung retraso heures hours stunden horas"
)
