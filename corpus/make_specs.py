"""Writing assignments for the blind classification corpus.

Each writer gets a list of message specifications drawn from a seed: language,
platform, kind, what the message must be (a risk with a sub-case, a hard negative
for a risk, or a plain message of a given sentiment and intent) and a style. The
writer reads only ``docs/labelling.md`` and this list, writes one message per
specification and labels it by the guide. The sub-cases repeat the guide's own
wording; nothing here comes from a classifier.

    python corpus/make_specs.py --writer w1 --seed 101 --count 850 > w1.jsonl
"""

from __future__ import annotations

import argparse
import random
import sys

import orjson

LANGS = [("fr", 45), ("en", 25), ("es", 15), ("de", 15)]
PLATFORM_KINDS: dict[str, list[str]] = {
    "facebook": ["comment", "post", "reply"],
    "messenger": ["dm"],
    "instagram": ["comment", "dm", "mention", "reply"],
    "whatsapp": ["dm"],
    "x": ["post", "reply", "mention", "dm"],
    "linkedin": ["comment", "post", "mention"],
    "tiktok": ["comment", "reply"],
    "twitch": ["chat"],
    "youtube": ["comment", "reply"],
    "telegram": ["chat"],
    "google_reviews": ["review"],
    "tripadvisor": ["review"],
    "news": ["article"],
    "forum": ["post", "reply"],
    "web_comments": ["comment"],
}
PLATFORM_WEIGHTS = {
    "facebook": 10, "messenger": 6, "instagram": 9, "whatsapp": 5, "x": 12, "linkedin": 4,
    "tiktok": 7, "twitch": 4, "youtube": 6, "telegram": 3, "google_reviews": 7,
    "tripadvisor": 4, "news": 5, "forum": 5, "web_comments": 5,
}
# Platforms where a sub-case cannot plausibly be written.
NOT_ON = {
    "threat": {"news"}, "hate": {"news"}, "scam": {"news", "google_reviews", "tripadvisor"},
    "spam": {"news"}, "personal_data": {"news"},
}
# Intents a press article cannot carry.
NOT_IN_NEWS = {"question", "purchase_intent", "complaint"}
SECTORS = [
    "bank", "telecom operator", "internet provider", "airline", "railway", "energy supplier",
    "supermarket", "fashion label", "carmaker", "delivery company", "hotel chain",
    "restaurant chain", "fast-food chain", "video game studio", "insurance company",
    "city transport", "water utility", "streaming service", "electronics retailer",
    "furniture store", "cosmetics brand", "food manufacturer", "mobile app", "gym chain",
    "car rental", "travel agency", "pharmacy chain", "postal service", "concert venue",
    "football club", "online marketplace", "bike-sharing service",
]
RISK_CASES: dict[str, list[str]] = {
    "threat": [
        "explicit threat of violence against staff",
        "conditional threat (if the brand does X again, the author will hurt someone or break"
        " something)",
        "implied threat: the author knows where an employee lives or works"
        " / 'we will meet outside'",
        "threat against a shop, agency or property (fire, smashing, vandalism)",
        "threat to wait for a specific employee (courier, technician, manager)",
        "threat 'with friends' or a veiled 'you will see what happens'",
        "threat against an employee's family",
        "announced sabotage of the brand's equipment",
        "threat of self-harm used to pressure the brand",
    ],
    "hate": [
        "name-calling of the staff (crude insults)",
        "dehumanising insult of staff (animal names)",
        "'bande de ...' followed by an insult, addressed to the company's people",
        "slur or contempt toward people of an origin or nationality",
        "contempt toward people of a religion",
        "contempt toward people of a sexual orientation",
        "insulting a woman employee for being a woman",
        "insulting another customer or commenter",
        "mocking people for a disability or their age",
    ],
    "scam": [
        "fake anniversary giveaway asking for an IBAN",
        "fake contest asking for a card number 'for verification'",
        "impersonation of the brand's support with a login link",
        "impersonation of support asking to continue on WhatsApp / Telegram",
        "request for a code received by SMS or for credentials",
        "crypto or investment bot promising returns",
        "money-mule job offer (receive payments on your account, keep a commission)",
        "fake refund asking a small fee first",
        "phishing link about a blocked account or a parcel fee",
    ],
    "spam": [
        "self-promotion with 'link in bio'",
        "'follow my page / my channel' riding on the brand's post",
        "a tradesman offering services in the comments",
        "a tutor or coach advertising in the comments",
        "follower or like selling",
        "an unrelated online shop advertising",
        "copy-paste chain message",
        "SEO link drop",
        "'DM me for collabs' influencer spam",
    ],
    "personal_data": [
        "the author gives their own phone number in public",
        "the author gives their own e-mail address",
        "the author gives their postal address",
        "the author gives their order number",
        "the author gives their customer or contract number",
        "the author gives a booking reference",
        "the author gives their IBAN",
        "the author gives a card number",
        "the author gives their date of birth",
        "someone posts another person's address or phone",
        "the author gives a parcel tracking number",
    ],
    "crisis_signal": [
        "a foreign object found in food",
        "an injury caused by a product or at a site",
        "food poisoning after eating the brand's product",
        "a product that caught fire, burned or exploded",
        "an outage with breadth (the whole street, a whole city, everyone)",
        "a data leak or a hack of customer data",
        "a court ruling, regulator investigation or fine",
        "a product recall",
        "a boycott, petition or class action",
        "a strike or a protest in front of a site",
        "a video or post going viral / 'share this everywhere'",
        "staff filmed discriminating against or abusing a customer",
    ],
}
HARD_NEGATIVES: dict[str, list[str]] = {
    "threat": [
        "legal pressure: lawsuit, complaint to the police or to an ombudsman",
        "a violent-sounding idiom with a positive meaning (food, a show, a product)",
        "a violent-sounding idiom about prices, queues or fatigue",
        "violence in a game, a film or a series",
        "very angry customer who announces cancelling / a bad review / going to the press",
        "a joke between friends using 'kill' or 'murder' figuratively",
    ],
    "hate": [
        "harsh criticism of the company with swear words, no person insulted",
        "accusing the company of stealing with its fees (about practices)",
        "swearing at a situation (a delay, a bug), not at people",
        "a strongly negative review of a product",
    ],
    "scam": [
        "a customer reporting a scam message they received",
        "a customer warning others about a fake account",
        "the brand's genuine contest or giveaway announcement",
        "a customer calling the company crooks",
    ],
    "spam": [
        "the brand's own genuine promotion from its official account",
        "a customer recommending a product they used",
        "a customer sharing the brand's official promo code",
        "a journalist's article about a product launch",
    ],
    "personal_data": [
        "the brand gives its public hotline or generic support address",
        "a message with a flight or train number and times",
        "a message with prices, quantities and ordinary dates",
        "the author says they sent their order number by private message (no number)",
    ],
    "crisis_signal": [
        "one customer's late parcel or broken product, no breadth",
        "news about a different company's incident",
        "a routine but very angry complaint",
        "an individual's own internet or power cut",
        "a minor bug in an app",
    ],
}
RISKS = list(RISK_CASES)
CLEAN = [
    # (sentiment, intent, weight)
    ("negative", "complaint", 26), ("neutral", "question", 14), ("negative", "question", 4),
    ("positive", "praise", 20), ("neutral", "purchase_intent", 8),
    ("positive", "purchase_intent", 6), ("neutral", "other", 12), ("positive", "other", 5),
    ("negative", "other", 5),
]
LENGTHS = [("short (under 15 words)", 35), ("medium (15-40 words)", 45),
           ("long (3-6 sentences)", 20)]
REGISTERS = ["casual", "formal", "slang and abbreviations", "typos and no accents",
             "emoji", "polite", "terse", "angry capitals", "ironic", "rambling"]
ANGRY = {"angry capitals", "ironic"}


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


def platform_for(rng: random.Random, excluded: set[str]) -> tuple[str, str]:
    choices = [(p, w) for p, w in PLATFORM_WEIGHTS.items() if p not in excluded]
    platform = pick(rng, choices)
    return platform, rng.choice(PLATFORM_KINDS[platform])


def spec(rng: random.Random, target: str) -> dict[str, object]:
    item: dict[str, object] = {"lang": pick(rng, LANGS)}
    if rng.random() < 0.05:
        other = "English" if item["lang"] != "en" else "Spanish"
        item["code_switch"] = f"mix in some {other}"
    excluded: set[str] = set()
    if target == "risk":
        risk = rng.choice(RISKS)
        case = {"risk": risk, "case": rng.choice(RISK_CASES[risk])}
        excluded |= NOT_ON.get(risk, set())
        if rng.random() < 0.2:
            other = rng.choice([r for r in RISKS if r != risk and {r, risk} != {"scam", "spam"}])
            case["also"] = other
            excluded |= NOT_ON.get(other, set())
        item["must_be"] = case
    elif target == "hard_negative":
        risk = rng.choice(RISKS)
        item["must_be"] = {"not_a": risk, "case": rng.choice(HARD_NEGATIVES[risk])}
    else:
        sentiment, intent = pick(rng, [(f"{s}/{i}", w) for s, i, w in CLEAN]).split("/")
        item["must_be"] = {"sentiment": sentiment, "intent": intent}
        if sentiment == "negative" and rng.random() < 0.15:
            item["must_be"]["sarcastic"] = True  # type: ignore[index]
        if rng.random() < 0.12:
            item["must_be"]["mixed_feelings"] = True  # type: ignore[index]
        if intent in NOT_IN_NEWS:
            excluded.add("news")
    item["platform"], item["kind"] = platform_for(rng, excluded)
    item["sector"] = rng.choice(SECTORS)
    item["length"] = pick(rng, LENGTHS)
    calm = target == "clean" and item["must_be"]["sentiment"] != "negative"  # type: ignore[index]
    item["register"] = rng.choice([r for r in REGISTERS if not (calm and r in ANGRY)])
    return item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writer", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, default=850)
    parser.add_argument("--risk-share", type=float, default=0.32)
    parser.add_argument("--hard-negative-share", type=float, default=0.18)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for n in range(1, args.count + 1):
        draw = rng.random()
        target = ("risk" if draw < args.risk_share
                  else "hard_negative" if draw < args.risk_share + args.hard_negative_share
                  else "clean")
        item = {"id": f"{args.writer}-{n:04d}", **spec(rng, target)}
        sys.stdout.buffer.write(orjson.dumps(item) + b"\n")


if __name__ == "__main__":
    main()
