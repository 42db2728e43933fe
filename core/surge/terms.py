"""Salient terms of a message (hashtags and content words) for surge explanations."""

from __future__ import annotations

_STOPWORDS = """
    a à au aux avec ce ces cet cette chez comme dans de des du elle elles en encore est et
    été être eu il ils je jai la le les leur leurs lui ma mais me mes moi mon ne ni nos
    notre nous on ou où par pas pour qu que qui sa se ses si son sont sur ta te tes toi ton
    tu un une vos votre vous y ça ca cest très tres tout tous toute toutes plus moins
    fait faire avoir ai as avez ont suis es sommes êtes était bien alors aussi donc car quand
    depuis après avant sans sous entre vers rien même déjà peu trop quoi comment pourquoi
    merci bonjour salut svp stp hier aujourd hui demain vraiment juste ici là voilà
    the a an and or but if of to in on at for from by with about as is are was were be been
    being have has had do does did not no yes it its this that these those i me my we
    our you your he she they them their his her what which who whom when where why how all
    any both each few more most other some such only own same so than too very can will just
    dont should now still again ever never get got im there here just please
    thanks thank hi hello today yesterday really
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def salient_terms(tokens: list[str]) -> set[str]:
    """Distinct hashtags and content words (3+ letters, not stop words) of ``tokens``."""
    return {t for t in tokens if len(t) > 2 and t not in STOPWORDS}
