"""Brand resolution: the account addressed first, then names, hashtags and typos in the text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import core.brands
from core.brands import BrandDirectory, fold, within_one_edit
from schemas.events import Platform


@pytest.fixture(scope="module")
def brands() -> BrandDirectory:
    return BrandDirectory.load()


def test_the_account_a_message_was_sent_to_decides_over_the_text(
    brands: BrandDirectory,
) -> None:
    assert brands.resolve(Platform.X, "1500000002", "Aurore Air c'est mieux") == "velo_city"


def test_every_listed_account_identifies_the_brand_and_the_first_is_where_it_answers(
    brands: BrandDirectory,
) -> None:
    assert brands.resolve(Platform.TELEGRAM, "-1001500000002", "hello") == "velo_city"
    assert brands.account("velo_city", Platform.TELEGRAM) == "bc-VeloCity-9Kx4"
    assert brands.account("nordbank", Platform.FACEBOOK) is None


@pytest.mark.parametrize(
    ("text", "brand"),
    [
        ("Je vole avec Aurore Air demain", "aurore_air"),
        ("vive #auroreair", "aurore_air"),
        ("merci @velocity_fr", "velo_city"),
        ("VÉLO CITY en panne", "velo_city"),
        ("Nord Bank ferme des agences", "nordbank"),
        ("Maizon Lumène, listed misspelling", "maison_lumen"),
        ("je vole avec Aurore Aire demain", "aurore_air"),  # one letter added, two words
        ("velocyti en panne", "velo_city"),  # two letters swapped
        ("Nordbnk encore", "nordbank"),  # one letter missing
        ("Maison Lumem", "maison_lumen"),  # one letter substituted
    ],
)
def test_names_aliases_hashtags_and_misspellings_are_found_in_text(
    brands: BrandDirectory, text: str, brand: str
) -> None:
    assert brands.resolve(Platform.NEWS, None, text) == brand


@pytest.mark.parametrize("text", ["rien à voir", "Aurore Airlines recrute", "nordbanking apps"])
def test_unrelated_or_longer_words_are_not_attributed(brands: BrandDirectory, text: str) -> None:
    assert brands.resolve(Platform.NEWS, None, text) is None


def test_short_names_are_never_matched_fuzzily() -> None:
    directory = BrandDirectory.from_table({"kiko": {"name": "Kiko"}})
    assert directory.resolve(Platform.NEWS, None, "j'adore Kiko") == "kiko"
    assert directory.resolve(Platform.NEWS, None, "j'adore Kika") is None


def test_competitors_are_resolved_and_flagged(brands: BrandDirectory) -> None:
    assert brands.brands["nordbank"].competitor
    assert not brands.brands["aurore_air"].competitor


def test_one_edit_distance_covers_insertion_deletion_substitution_and_swap() -> None:
    assert within_one_edit("nordbank", "nordbanks")
    assert within_one_edit("nordbank", "nordbnk")
    assert within_one_edit("nordbank", "nordbenk")
    assert within_one_edit("nordbank", "nrodbank")
    assert not within_one_edit("nordbank", "nrdobank")
    assert not within_one_edit("abcd", "bcde")
    assert fold("Vélo CITY") == "velo city"


def test_resolving_is_fast_enough_for_the_stream(brands: BrandDirectory) -> None:
    import time

    text = "un long message sans aucune marque " * 20
    start = time.perf_counter()
    for _ in range(1000):
        brands.resolve(Platform.NEWS, None, text)
    assert time.perf_counter() - start < 2.0


def test_words_too_long_to_be_one_typo_away_are_not_expanded(
    brands: BrandDirectory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A word's deletions cost the square of its length: a 250,000-letter word (a
    crafted payload) held the worker 15 s. Only words a name's length + 1 are tried."""
    expanded: list[int] = []
    original = core.brands._deletions

    def counting(word: str) -> Iterator[str]:
        expanded.append(len(word))
        return original(word)

    monkeypatch.setattr(core.brands, "_deletions", counting)
    longest_name = max(len(fold(v).replace(" ", "")) for b in brands.brands.values()
                       for v in b.variants)
    assert brands.resolve(Platform.X, None, "é" * 250_000 + " aurorre air") == "aurore_air"
    assert expanded
    assert max(expanded) <= longest_name + 1
