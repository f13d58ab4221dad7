"""Generate the example task data shipped with zo_sweep (run: python zo_sweep/example_data/generate.py).

Every sentence comes from the vocabularies and sentence frames written below for this project;
nothing is taken from the public datasets, only their field names and file layout. The output
is deterministic (seeded) and committed next to this script:

    original/<Folder>/<prefix>_{train,validation,test}.jsonl    public datasets' style
    synthetic/<Folder>/<prefix>_{train,validation,test}.jsonl   a different, chattier style, as
                                                                LLM-generated data tends to be

The tasks are learnable (the label follows from the text) but not trivial: sentiment with
negation and contrast, entailment that depends on the verb of saying, distractors of the same
kind as the answer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

SEED = 20240611
SPLIT_SIZES = {"train": 240, "validation": 72, "test": 72}
HERE = Path(__file__).resolve().parent
KINDS = ("original", "synthetic")

Record = dict[str, object]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


# --- SST-2 -----------------------------------------------------------------------------------

SST_SUBJECTS = [
    "the film", "this movie", "the script", "the cast", "the screenplay", "the direction",
    "the story", "the soundtrack", "the ending", "the dialogue", "the camera work", "the pacing",
    "the lead performance", "the final act", "the editing", "the humor", "the premise",
]  # fmt: skip
SST_ADJ = {
    1: [
        "wonderful", "moving", "delightful", "sharp", "gorgeous", "witty", "heartfelt", "gripping",
        "charming", "brilliant", "tender", "thrilling", "inventive", "funny", "smart", "touching",
        "absorbing", "lovely", "confident", "fresh",
    ],
    0: [
        "dull", "tedious", "clumsy", "lifeless", "shallow", "bloated", "predictable", "flat",
        "tiresome", "muddled", "forgettable", "lazy", "awkward", "pointless", "stale", "sluggish",
        "grating", "hollow", "messy", "bland",
    ],
}  # fmt: skip
SST_VERB_PHRASES = {
    1: [
        "stays with you long after the credits", "earns every laugh", "holds your attention throughout",
        "finds real warmth in small moments", "rewards patient viewers", "never puts a foot wrong",
        "makes the two hours fly by", "treats its audience with respect",
    ],
    0: [
        "drags on far too long", "never finds its footing", "wastes a talented cast",
        "falls apart in the second half", "feels like a rerun", "runs out of ideas early",
        "mistakes noise for excitement", "leaves no impression at all",
    ],
}  # fmt: skip
SST_NOUNS = ["film", "drama", "comedy", "thriller", "piece of work", "picture", "debut", "romance"]
SST_ADVERBS = ["", "remarkably ", "consistently ", "thoroughly ", "simply ", "often ", "quite "]


def sst2_original(rng: random.Random) -> Record:
    label = rng.randint(0, 1)
    adj, adj2 = rng.sample(SST_ADJ[label], 2)
    opposite = rng.choice(SST_ADJ[1 - label])
    subject, subject2 = rng.sample(SST_SUBJECTS, 2)
    frames = [
        f"{subject} is {rng.choice(SST_ADVERBS)}{adj} .",
        f"{article(adj)} , {adj2} {rng.choice(SST_NOUNS)} .",
        f"{subject} {rng.choice(SST_VERB_PHRASES[label])} .",
        f"{subject} is never {opposite} , and {subject2} is {adj} .",
        f"{subject} is {opposite} , but {subject2} is {adj2} .",
        f"although {subject} is {opposite} , the whole thing {rng.choice(SST_VERB_PHRASES[label])} .",
        f"it 's {article(adj)} {rng.choice(SST_NOUNS)} that {rng.choice(SST_VERB_PHRASES[label])} .",
        f"not {opposite} , just {adj} .",
    ]
    return {"sentence": rng.choice(frames) + " ", "label": label}


SYN_SUBJECTS = [
    "plot", "acting", "soundtrack", "script", "ending", "cinematography", "pacing", "dialogue",
    "cast", "direction", "storyline", "score", "lead actor", "supporting cast", "set design",
]  # fmt: skip


def sst2_synthetic(rng: random.Random) -> Record:
    label = rng.randint(0, 1)
    adj, adj2 = rng.sample(SST_ADJ[label], 2)
    opposite = rng.choice(SST_ADJ[1 - label])
    subject, subject2 = rng.sample(SYN_SUBJECTS, 2)
    verdict = (
        "I would happily recommend it to friends."
        if label
        else "I would not recommend it to anyone."
    )
    frames = [
        f"The {subject} was {adj} and {adj2}.",
        f"Honestly, this movie is {rng.choice(SST_ADVERBS)}{adj} from beginning to end.",
        f"What {article(adj)} film! The {subject} {rng.choice(SST_VERB_PHRASES[label])}.",
        f"While the {subject} was {opposite}, the overall experience was {adj}.",
        f"I expected something {opposite}, but it turned out to be {adj}.",
        f"It's not {opposite} at all; in fact, the {subject2} is quite {adj}.",
        f"The {subject} felt {adj}, and {verdict}",
        f"From the {subject} to the {subject2}, everything about it was {adj}.",
    ]
    return {"sentence": rng.choice(frames), "label": label}


# --- COPA ------------------------------------------------------------------------------------

# (subject, possessive, object, pronoun); in a premise the subject is named, in a choice the
# original style uses the pronoun, as COPA does.
COPA_PEOPLE = [
    ("The man", "his", "him", "he"), ("The woman", "her", "her", "she"),
    ("The boy", "his", "him", "he"), ("The girl", "her", "her", "she"),
    ("My brother", "his", "him", "he"), ("My sister", "her", "her", "she"),
    ("The teacher", "her", "her", "she"), ("The farmer", "his", "him", "he"),
    ("The student", "his", "him", "he"), ("The driver", "her", "her", "she"),
    ("The chef", "his", "him", "he"), ("My neighbor", "her", "her", "she"),
]  # fmt: skip
COPA_SYNTHETIC_PEOPLE = [
    ("The exhausted nurse", "her", "her", "she"), ("A young engineer", "his", "him", "he"),
    ("My elderly neighbor", "his", "him", "he"), ("The new intern", "her", "her", "she"),
    ("A retired pilot", "his", "him", "he"), ("The college student", "her", "her", "she"),
    ("A busy shop owner", "his", "him", "he"), ("The local baker", "her", "her", "she"),
    ("The night guard", "his", "him", "he"), ("A curious child", "her", "her", "she"),
]  # fmt: skip
# (cause, effect): {S} subject, {p} possessive, {P} capitalized possessive, {o} object.
COPA_PAIRS = [
    ("{S} skipped breakfast.", "{S} felt hungry before lunch."),
    ("{S} stayed up all night.", "{S} was tired the next morning."),
    ("{S} left {p} umbrella at home.", "{S} got soaked in the rain."),
    ("{S} ran a long race.", "{P} legs were sore."),
    ("{S} forgot to set an alarm.", "{S} overslept."),
    ("{S} touched the hot stove.", "{S} burned {p} finger."),
    ("{S} won the lottery.", "{S} quit {p} job."),
    ("{S} ate spoiled fish.", "{S} got sick."),
    ("{S} dropped {p} phone on the pavement.", "The screen cracked."),
    ("{S} studied hard for the exam.", "{S} passed with a high score."),
    ("{S} lost {p} keys.", "{S} could not unlock the door."),
    ("{S} drank too much coffee.", "{S} could not fall asleep."),
    ("{S} planted seeds in the garden.", "Flowers grew in the spring."),
    ("{S} left the milk out overnight.", "The milk went sour."),
    ("{S} told a funny joke.", "Everyone in the room laughed."),
    ("{S} forgot {p} friend's birthday.", "{P} friend felt hurt."),
    ("{S} wore a thick coat.", "{S} stayed warm in the snow."),
    ("{S} practiced the piano every day.", "{S} played well at the concert."),
    ("{S} spilled juice on the carpet.", "The carpet was stained."),
    ("{S} missed the bus.", "{S} was late for work."),
    ("{S} opened the window.", "A cool breeze filled the room."),
    ("{S} turned off the lights.", "The room went dark."),
    ("{S} sat in the sun for hours.", "{P} skin got sunburned."),
    ("{S} lifted a heavy box.", "{P} back started to ache."),
    ("{S} saved money for a year.", "{S} bought a new bicycle."),
    ("{S} broke {p} glasses.", "{S} could not read the sign."),
    ("{S} shouted all through the game.", "{P} voice became hoarse."),
    ("{S} watered the plants.", "The soil was damp."),
    ("{S} forgot to charge {p} phone.", "The phone died during a call."),
    ("{S} stepped on a nail.", "{P} foot started bleeding."),
    ("{S} apologized for the mistake.", "{P} colleague forgave {o}."),
    ("{S} got a promotion.", "{S} celebrated with a nice dinner."),
    ("{S} left the front door unlocked.", "Someone walked in and took {p} bike."),
    ("{S} added too much salt to the soup.", "The soup tasted awful."),
    ("{S} ran out of gas.", "{P} car stopped on the highway."),
    ("{S} caught a bad cold.", "{S} stayed home in bed."),
    ("{S} read the instructions carefully.", "{S} assembled the shelf correctly."),
    ("{S} forgot to water the plants.", "The leaves turned brown."),
    ("{S} exercised every morning.", "{S} grew stronger."),
    ("{S} ate a huge dinner.", "{S} felt too full for dessert."),
    ("{S} painted the fence.", "The fence looked new again."),
    ("{S} lost {p} wallet.", "{S} could not pay for the groceries."),
]
COPA_CONTEXTS = ["Last week", "On Saturday", "Earlier today", "During the holidays", "Yesterday"]


def _copa_fill(frame: str, person: tuple[str, str, str, str], named: bool, synthetic: bool) -> str:
    subject, possessive, obj, pronoun = person
    if not named:  # a choice: the original style uses the pronoun, the synthetic a short name
        subject = "The " + subject.split()[-1] if synthetic else cap(pronoun)
    text = frame.replace("{P}", cap(possessive)).replace("{p}", possessive).replace("{o}", obj)
    if text.startswith("{S}"):
        return text.replace("{S}", subject)
    return text.replace("{S}", subject[:1].lower() + subject[1:])


def copa_record(rng: random.Random, synthetic: bool) -> Record:
    person = rng.choice(COPA_SYNTHETIC_PEOPLE if synthetic else COPA_PEOPLE)
    right_pair, wrong_pair = rng.sample(COPA_PAIRS, 2)
    question = rng.choice(["cause", "effect"])
    side = 1 if question == "cause" else 0  # the premise is the other half of the pair
    premise = _copa_fill(right_pair[side], person, named=True, synthetic=synthetic)
    if synthetic:
        premise = f"{rng.choice(COPA_CONTEXTS)}, {premise[:1].lower()}{premise[1:]}"
    right = _copa_fill(right_pair[1 - side], person, named=False, synthetic=synthetic)
    wrong = _copa_fill(wrong_pair[1 - side], person, named=False, synthetic=synthetic)
    label = rng.randint(0, 1)
    choices = [wrong, right] if label else [right, wrong]
    return {"premise": premise, "choice1": choices[0], "choice2": choices[1],
            "question": question, "label": label}  # fmt: skip


# --- CB --------------------------------------------------------------------------------------

CB_SPEAKERS = [
    "Mary", "Tom", "the manager", "my aunt", "the reporter", "our neighbor", "the coach",
    "Dr. Patel", "Jake", "Nina", "the landlord", "Grandpa",
]  # fmt: skip
# (entity, one predicate, its opposite, an unrelated predicate)
CB_FACTS = [
    ("the train", "arrived on time", "arrived late", "was crowded"),
    ("the meeting", "was cancelled", "went ahead as planned", "was held in the library"),
    ("the bakery", "had sold out of bread", "still had plenty of bread", "opens at six"),
    ("her brother", "passed the driving test", "failed the driving test", "owns a red car"),
    ("the bridge", "was closed for repairs", "was open to traffic", "was built of stone"),
    ("the package", "had been delivered", "had not been delivered", "was heavy"),
    ("the team", "won the final", "lost the final", "trained every morning"),
    ("the river", "had flooded the fields", "stayed within its banks", "was full of fish"),
    ("the concert", "was sold out", "had plenty of empty seats", "started at eight"),
    ("the printer", "was broken", "worked perfectly", "stood in the hallway"),
    ("the dog", "had eaten the cake", "had not touched the cake", "was asleep on the sofa"),
    ("the new restaurant", "was expensive", "was cheap", "served fish"),
    ("the exam", "was difficult", "was easy", "lasted two hours"),
    ("the kitchen window", "was open", "was shut", "faced the garden"),
    ("the shop", "was closed on Sunday", "was open on Sunday", "sold old maps"),
    ("the candidate", "had left the race", "was still in the race", "had a large family"),
    ("the flight", "was delayed", "left on schedule", "was full"),
    ("the soup", "was too salty", "had no salt at all", "was made with carrots"),
]
CB_COMMITTED = {
    "original": ["{s} knew that", "{s} told us that", "{s} saw that", "{s} confirmed that",
                 "{s} made it clear that", "{s} realized that"],
    "synthetic": ["According to {s}, it is certain that", "{s} clearly stated that",
                  "In the email, {s} mentioned that", "{s} has confirmed that"],
}  # fmt: skip
CB_UNCOMMITTED = {
    "original": ["{s} wondered whether", "{s} hoped that", "{s} was not sure whether",
                 "{s} asked if", "{s} guessed that"],
    "synthetic": ["{s} speculated that perhaps", "It is unclear whether, as {s} put it,",
                  "{s} was wondering if", "{s} could not say whether"],
}  # fmt: skip
CB_CONTEXT = {
    "original": ["", "It had been a long week.", "Everyone was waiting in the lobby.",
                 "B: Well, I don't know.", "A: Did you hear the news?"],
    "synthetic": ["", "The day started like any other.", "The situation was developing quickly.",
                  "Several people were asking questions."],
}  # fmt: skip
CB_LABELS = ["entailment", "contradiction", "neutral"]


def cb_record(rng: random.Random, kind: str) -> Record:
    entity, predicate, opposite, unrelated = rng.choice(CB_FACTS)
    speaker = rng.choice(CB_SPEAKERS)
    asserted, denied = (predicate, opposite) if rng.random() < 0.5 else (opposite, predicate)
    committed = rng.random() < 0.7
    frames = CB_COMMITTED[kind] if committed else CB_UNCOMMITTED[kind]
    clause = rng.choice(frames).replace("{s}", speaker)
    premise = f"{rng.choice(CB_CONTEXT[kind])} {cap(clause)} {entity} {asserted}.".strip()
    roll = rng.random()
    if roll < 0.4:
        hypothesis, label = f"{entity} {asserted}", "entailment" if committed else "neutral"
    elif roll < 0.8:
        hypothesis, label = f"{entity} {denied}", "contradiction" if committed else "neutral"
    else:
        hypothesis, label = f"{entity} {unrelated}", "neutral"
    if kind == "synthetic":
        return {"premise": premise, "hypothesis": cap(hypothesis) + ".", "label": label}
    return {"premise": premise, "hypothesis": hypothesis, "label": CB_LABELS.index(label)}


# --- RTE -------------------------------------------------------------------------------------

RTE_NAMES = ["Norvik", "Halden", "Corrin", "Belmar", "Tessaly", "Orvane", "Kestrel", "Marrow",
             "Dunford", "Ashby", "Veltra", "Lumen", "Pellham", "Quorra", "Sandor", "Wexley"]  # fmt: skip
RTE_KINDS = ["Systems", "Foods", "Motors", "Bank", "Airlines", "Energy", "Media", "Textiles",
             "Robotics", "Pharma"]  # fmt: skip
RTE_CITIES = ["Oslo", "Lyon", "Porto", "Denver", "Osaka", "Leeds", "Perth", "Krakow", "Nairobi",
              "Lima", "Adelaide", "Seville", "Tampere", "Cork"]  # fmt: skip
RTE_PEOPLE = ["Anna Lindqvist", "Rafael Ortiz", "Mei Tanaka", "Samuel Okafor", "Claire Dubois",
              "Viktor Hale", "Priya Raman", "Jonas Becker", "Elena Sousa", "Tom Whitfield"]  # fmt: skip
RTE_PRODUCTS = ["electric buses", "frozen vegetables", "wind turbines", "budget flights",
                "warehouse robots", "wool blankets", "mobile banking apps", "cough syrup"]  # fmt: skip


def _rte_company(rng: random.Random) -> dict[str, object]:
    return {
        "name": f"{rng.choice(RTE_NAMES)} {rng.choice(RTE_KINDS)}",
        "city": rng.choice(RTE_CITIES),
        "year": rng.randint(1950, 2015),
        "founder": rng.choice(RTE_PEOPLE),
        "staff": rng.randint(3, 90) * 100,
        "product": rng.choice(RTE_PRODUCTS),
    }


def _rte_premise(c: dict[str, object], other: str, kind: str, rng: random.Random) -> str:
    if kind == "synthetic":
        return (f"In a statement released on {rng.choice(['Monday', 'Tuesday', 'Friday'])}, "
                f"{c['name']} announced that it had completed its purchase of {other}. The "
                f"company, founded by {c['founder']} in {c['year']}, is headquartered in "
                f"{c['city']} and currently has around {c['staff']} employees. It is widely "
                f"recognized for its {c['product']}.")  # fmt: skip
    return (f"{c['name']}, which is headquartered in {c['city']}, was founded in {c['year']} by "
            f"{c['founder']}. The company, best known for its {c['product']}, now employs about "
            f"{c['staff']} people. Last year it bought the smaller firm {other}.")  # fmt: skip


def rte_record(rng: random.Random, kind: str) -> Record:
    c = _rte_company(rng)
    other = f"{rng.choice(RTE_NAMES)} {rng.choice(RTE_KINDS)}"
    while other == c["name"]:
        other = f"{rng.choice(RTE_NAMES)} {rng.choice(RTE_KINDS)}"
    wrong_city = rng.choice([city for city in RTE_CITIES if city != c["city"]])
    wrong_person = rng.choice([p for p in RTE_PEOPLE if p != c["founder"]])
    wrong_product = rng.choice([p for p in RTE_PRODUCTS if p != c["product"]])
    margin = rng.randint(1, 9) * 100
    name, staff = c["name"], int(c["staff"])  # type: ignore[call-overload]
    true_claims = [
        f"{name} is based in {c['city']}.",
        f"{c['founder']} founded {name}.",
        f"{name} was founded in {c['year']}.",
        f"{name} has more than {max(staff - margin, 100)} employees.",
        f"{name} makes {c['product']}.",
        f"{name} acquired {other}.",
        f"{name} existed before {int(c['year']) + rng.randint(1, 20)}.",  # type: ignore[call-overload]
    ]
    false_claims = [
        f"{name} is based in {wrong_city}.",
        f"{wrong_person} founded {name}.",
        f"{name} was founded in {int(c['year']) + rng.choice([-3, -1, 2, 5])}.",  # type: ignore[call-overload]
        f"{name} has more than {staff + margin} employees.",
        f"{name} makes {wrong_product}.",
        f"{other} acquired {name}.",
        f"{c['founder']} founded {other}.",
    ]
    label = rng.randint(0, 1)
    hypothesis = rng.choice(false_claims if label else true_claims)
    premise = _rte_premise(c, other, kind, rng)
    if kind == "synthetic":
        return {"premise": premise, "hypothesis": hypothesis,
                "label": ["entailment", "not_entailment"][label]}  # fmt: skip
    return {"premise": premise, "hypothesis": hypothesis, "label": label}


# --- BoolQ -----------------------------------------------------------------------------------

BOOLQ_SYLLABLES = (["Var", "Tal", "Mir", "Os", "Bran", "Kel", "Dor", "Fen", "Lis", "Quen", "Ath",
                    "Bel", "Cor", "Dra", "Gal", "Hol"],
                   ["den", "low", "ren", "kel", "nock", "mere", "wick", "ford", "by", "ton",
                    "dale", "more"])  # fmt: skip
BOOLQ_REGIONS = ["northern", "southern", "eastern", "western", "central"]
BOOLQ_COLORS = ["green", "red", "grey", "white", "blue"]
BOOLQ_MATERIALS = ["steel", "stone", "timber", "concrete"]
BOOLQ_SEASONS = ["spring", "summer", "autumn", "winter"]


def _boolq_name(rng: random.Random) -> str:
    return rng.choice(BOOLQ_SYLLABLES[0]) + rng.choice(BOOLQ_SYLLABLES[1])


def _pick(rng: random.Random, true_value: object, values: list) -> tuple[object, bool]:
    """The value a question asks about: the true one about half the time."""
    if rng.random() < 0.5:
        return true_value, True
    return rng.choice([v for v in values if v != true_value]), False


def _boolq_lake(rng: random.Random) -> tuple[str, list[tuple[str, bool]]]:
    name = f"Lake {_boolq_name(rng)}"
    region, salt = rng.choice(BOOLQ_REGIONS), rng.random() < 0.3
    depth, freezes = rng.randint(8, 120), rng.random() < 0.5
    water = "saltwater" if salt else "freshwater"
    passage = (f"{name} is a {water} lake in the {region} part of the province. It reaches a "
               f"depth of {depth} metres at its deepest point. The lake "
               f"{'freezes over most' if freezes else 'does not freeze, even in the coldest'} "
               f"winters, and its shores are popular with walkers.")  # fmt: skip
    asked_region, region_ok = _pick(rng, region, BOOLQ_REGIONS)
    asked_water, water_ok = _pick(rng, water, ["freshwater", "saltwater"])
    limit = depth + rng.choice([-30, -5, 5, 30])
    questions = [
        (f"is {name.lower()} in the {asked_region} part of the province", region_ok),
        (f"is {name.lower()} a {asked_water} lake", water_ok),
        (f"does {name.lower()} freeze in winter", freezes),
        (f"is {name.lower()} deeper than {limit} metres", depth > limit),
    ]
    return passage, questions


def _boolq_bridge(rng: random.Random) -> tuple[str, list[tuple[str, bool]]]:
    name = f"the {_boolq_name(rng)} Bridge"
    color, material = rng.choice(BOOLQ_COLORS), rng.choice(BOOLQ_MATERIALS)
    year, trains = rng.randint(1850, 2010), rng.random() < 0.5
    passage = (f"{cap(name)} is a {material} bridge that was opened in {year}. It is painted "
               f"{color} and carries {'both cars and trains' if trains else 'cars and cyclists, but no trains'} "
               f"across the river. A footpath was added on its eastern side some years later.")  # fmt: skip
    asked_color, color_ok = _pick(rng, color, BOOLQ_COLORS)
    asked_material, material_ok = _pick(rng, material, BOOLQ_MATERIALS)
    limit = year + rng.choice([-40, -10, 10, 40])
    questions = [
        (f"is {name.lower()} painted {asked_color}", color_ok),
        (f"is {name.lower()} made of {asked_material}", material_ok),
        (f"do trains run across {name.lower()}", trains),
        (f"was {name.lower()} opened before {limit}", year < limit),
    ]
    return passage, questions


def _boolq_festival(rng: random.Random) -> tuple[str, list[tuple[str, bool]]]:
    name = f"the {_boolq_name(rng)} Festival"
    season, free = rng.choice(BOOLQ_SEASONS), rng.random() < 0.5
    days, art = rng.randint(2, 10), rng.choice(["music", "film", "food", "theatre"])
    passage = (f"{cap(name)} is a {art} festival held every {season}. It lasts {days} days, and "
               f"{'entry to every event is free' if free else 'visitors must buy a ticket for each event'}. "
               f"Local volunteers run most of the stalls and stages.")  # fmt: skip
    asked_season, season_ok = _pick(rng, season, BOOLQ_SEASONS)
    asked_art, art_ok = _pick(rng, art, ["music", "film", "food", "theatre"])
    limit = days + rng.choice([-2, -1, 1, 3])
    questions = [
        (f"is {name.lower()} held in {asked_season}", season_ok),
        (f"is {name.lower()} a {asked_art} festival", art_ok),
        (f"is {name.lower()} free to attend", free),
        (f"does {name.lower()} last more than {limit} days", days > limit),
    ]
    return passage, questions


def _boolq_animal(rng: random.Random) -> tuple[str, list[tuple[str, bool]]]:
    name = f"the {_boolq_name(rng).lower()} beetle"
    nocturnal, flies = rng.random() < 0.5, rng.random() < 0.5
    diet = rng.choice(["leaves", "fungi", "smaller insects", "fallen fruit"])
    length = rng.randint(4, 40)
    passage = (f"{cap(name)} is a species of beetle about {length} millimetres long. It feeds "
               f"mainly on {diet} and is active {'at night' if nocturnal else 'during the day'}. "
               f"{'Adults fly well and can travel long distances.' if flies else 'Its wings are fused, so it cannot fly.'}")  # fmt: skip
    asked_diet, diet_ok = _pick(rng, diet, ["leaves", "fungi", "smaller insects", "fallen fruit"])
    limit = length + rng.choice([-10, -3, 3, 10])
    questions = [
        (f"does {name} eat {asked_diet}", diet_ok),
        (f"is {name} active at night", nocturnal),
        (f"can {name} fly", flies),
        (f"is {name} longer than {limit} millimetres", length > limit),
    ]
    return passage, questions


BOOLQ_TOPICS: list[Callable[[random.Random], tuple[str, list[tuple[str, bool]]]]] = [
    _boolq_lake, _boolq_bridge, _boolq_festival, _boolq_animal,
]  # fmt: skip


def boolq_record(rng: random.Random, kind: str) -> Record:
    passage, questions = rng.choice(BOOLQ_TOPICS)(rng)
    question, answer = rng.choice(questions)
    if kind == "synthetic":
        passage = "Here is some background information. " + passage
        return {"question": cap(question) + "?", "answer": answer, "passage": passage}
    # The hub's BoolQ (and the research group's copy of it): the answer is a JSON boolean.
    return {"question": question, "answer": answer, "passage": passage}


# --- ARC-Challenge ---------------------------------------------------------------------------

ARC_ANIMALS = {
    "mammal": ["dolphin", "bat", "whale", "horse", "rabbit", "elephant", "squirrel", "goat"],
    "bird": ["penguin", "owl", "sparrow", "eagle", "ostrich", "parrot"],
    "reptile": ["lizard", "turtle", "crocodile", "snake", "iguana"],
    "amphibian": ["frog", "toad", "salamander", "newt"],
    "fish": ["salmon", "shark", "trout", "tuna", "goldfish"],
    "insect": ["ant", "beetle", "butterfly", "bee", "grasshopper", "mosquito"],
}
ARC_ROCKS = {
    "igneous": ["granite", "basalt", "obsidian", "pumice"],
    "sedimentary": ["sandstone", "limestone", "shale", "conglomerate"],
    "metamorphic": ["marble", "slate", "quartzite", "gneiss"],
}
ARC_TOOLS = {
    "temperature": "thermometer", "mass": "balance", "length": "meter stick",
    "volume of a liquid": "graduated cylinder", "air pressure": "barometer",
    "wind speed": "anemometer", "time": "stopwatch", "electric current": "ammeter",
}  # fmt: skip
ARC_ORGAN_SYSTEMS = {
    "carries oxygen and nutrients to the cells": "circulatory system",
    "takes in oxygen from the air": "respiratory system",
    "breaks food down into nutrients": "digestive system",
    "sends signals between the brain and the body": "nervous system",
    "supports and protects the organs": "skeletal system",
    "removes liquid waste from the blood": "excretory system",
    "fights infections": "immune system",
}
ARC_ENERGY = {
    "light bulb": "light energy", "electric heater": "thermal energy",
    "loudspeaker": "sound energy", "electric fan": "mechanical energy",
}  # fmt: skip
ARC_ENERGY_FORMS = ["light energy", "thermal energy", "sound energy", "mechanical energy",
                    "chemical energy"]  # fmt: skip
ARC_MACHINES = {
    "a ramp up to a loading dock": "inclined plane", "a seesaw": "lever",
    "a rope over a wheel that raises a flag": "pulley", "the blade of an axe": "wedge",
    "the lid of a jar": "screw", "a doorknob": "wheel and axle",
}  # fmt: skip
ARC_RENEWABLE = (["wind", "sunlight", "flowing water", "geothermal heat"],
                 ["coal", "oil", "natural gas", "uranium"])  # fmt: skip
ARC_PHASES = {
    ("liquid", "gas"): "evaporation", ("solid", "liquid"): "melting",
    ("liquid", "solid"): "freezing", ("gas", "liquid"): "condensation",
    ("solid", "gas"): "sublimation",
}  # fmt: skip

# (question, right answer, pool of wrong answers); phrasing differs by data kind.
ArcItem = tuple[str, str, list[str]]


def _arc_animal(rng: random.Random, synthetic: bool) -> ArcItem:
    group = rng.choice(list(ARC_ANIMALS))
    others = [a for g, animals in ARC_ANIMALS.items() if g != group for a in animals]
    q = (f"Which one of the following animals is classified as {article(group)}?" if synthetic
         else f"Which of these animals is {article(group)}?")  # fmt: skip
    return q, rng.choice(ARC_ANIMALS[group]), others


def _arc_rock(rng: random.Random, synthetic: bool) -> ArcItem:
    kind = rng.choice(list(ARC_ROCKS))
    others = [r for k, rocks in ARC_ROCKS.items() if k != kind for r in rocks]
    q = (f"A geologist finds {article(kind)} rock. Which of the following could it be?" if synthetic
         else f"Which rock is {article(kind)} rock?")  # fmt: skip
    return q, rng.choice(ARC_ROCKS[kind]), others


def _arc_tool(rng: random.Random, synthetic: bool) -> ArcItem:
    quantity = rng.choice(list(ARC_TOOLS))
    thing = rng.choice(["a rock", "a sample", "the classroom", "a cup of water", "the air outside"])
    q = (f"To measure the {quantity}, which instrument is the most appropriate choice?" if synthetic
         else f"A student wants to measure the {quantity} of {thing}. Which tool should the student use?")  # fmt: skip
    if quantity in ("air pressure", "wind speed", "time", "electric current"):
        q = (f"Which instrument is used to measure {quantity}?" if synthetic
             else f"Which tool should a student use to measure {quantity}?")  # fmt: skip
    return q, ARC_TOOLS[quantity], [t for k, t in ARC_TOOLS.items() if k != quantity]


def _arc_speed(rng: random.Random, synthetic: bool) -> ArcItem:
    speed, hours = rng.randrange(10, 95, 5), rng.randint(2, 5)
    distance = speed * hours
    vehicle = rng.choice(["car", "bus", "train", "cyclist", "boat"])
    q = (f"If a {vehicle} covers {distance} km in {hours} hours, what is its average speed?" if synthetic
         else f"A {vehicle} travels {distance} kilometers in {hours} hours. What is the average speed of the {vehicle}?")  # fmt: skip
    wrong = [distance * hours, distance + hours, distance - hours, speed + 10, speed * 2]
    return q, f"{speed} km/h", [f"{w} km/h" for w in wrong if w != speed]


def _arc_organs(rng: random.Random, synthetic: bool) -> ArcItem:
    job = rng.choice(list(ARC_ORGAN_SYSTEMS))
    q = (f"In the human body, the main job of which system is that it {job}?" if synthetic
         else f"Which body system {job}?")  # fmt: skip
    return q, ARC_ORGAN_SYSTEMS[job], [s for j, s in ARC_ORGAN_SYSTEMS.items() if j != job]


def _arc_energy(rng: random.Random, synthetic: bool) -> ArcItem:
    device = rng.choice(list(ARC_ENERGY))
    q = (f"When a {device} is switched on, electrical energy is mostly converted into what?" if synthetic
         else f"A {device} changes electrical energy mainly into which form of energy?")  # fmt: skip
    return q, ARC_ENERGY[device], [f for f in ARC_ENERGY_FORMS if f != ARC_ENERGY[device]]


def _arc_machine(rng: random.Random, synthetic: bool) -> ArcItem:
    example = rng.choice(list(ARC_MACHINES))
    q = (f"Which type of simple machine best describes {example}?" if synthetic
         else f"{cap(example)} is an example of which simple machine?")  # fmt: skip
    return q, ARC_MACHINES[example], [m for e, m in ARC_MACHINES.items() if e != example]


def _arc_renewable(rng: random.Random, synthetic: bool) -> ArcItem:
    renewable = rng.random() < 0.5
    right_pool, wrong_pool = ARC_RENEWABLE if renewable else ARC_RENEWABLE[::-1]
    word = "renewable" if renewable else "nonrenewable"
    q = (f"Which one of these energy resources is considered {word}?" if synthetic
         else f"Which energy source is {word}?")  # fmt: skip
    return q, rng.choice(right_pool), list(wrong_pool)


def _arc_phase(rng: random.Random, synthetic: bool) -> ArcItem:
    (start, end), name = rng.choice(list(ARC_PHASES.items()))
    q = (f"What do scientists call the process in which a {start} turns into a {end}?" if synthetic
         else f"What is the change from a {start} to a {end} called?")  # fmt: skip
    return q, name, [n for n in ARC_PHASES.values() if n != name]


ARC_TOPICS = [_arc_animal, _arc_rock, _arc_tool, _arc_speed, _arc_organs, _arc_energy,
              _arc_machine, _arc_renewable, _arc_phase]  # fmt: skip


def arc_record(rng: random.Random, kind: str) -> Record:
    question, right, wrong_pool = rng.choice(ARC_TOPICS)(rng, kind == "synthetic")
    count = rng.choices([3, 4, 5], weights=[1, 8, 1])[0]
    count = min(count, len(set(wrong_pool)) + 1)
    texts = [right, *rng.sample(sorted(set(wrong_pool)), count - 1)]
    rng.shuffle(texts)
    # ARC labels its options A-E, and some questions 1-4.
    keys = [str(i + 1) for i in range(count)] if rng.random() < 0.1 else list("ABCDE"[:count])
    return {"question": question, "choices": {"text": texts, "label": keys},
            "answerKey": keys[texts.index(right)]}  # fmt: skip


# --- writing ---------------------------------------------------------------------------------

# task folder, file prefix, generator(rng, kind), id field
TASKS: list[tuple[list[str], str, Callable[[random.Random, str], Record], str]] = [
    (["SST-2"], "sst2",
     lambda rng, kind: sst2_synthetic(rng) if kind == "synthetic" else sst2_original(rng), "idx"),
    (["Copa"], "copa", lambda rng, kind: copa_record(rng, kind == "synthetic"), "idx"),
    (["CB"], "cb", cb_record, "idx"),
    (["RTE"], "rte", rte_record, "idx"),
    (["BoolQ"], "boolq", boolq_record, "idx"),
    (["ArcC_Cloze", "ArcC_MC"], "ARC-Challenge", arc_record, "id"),
]  # fmt: skip


# The fields holding a record's answer: two records that differ only there are duplicates.
GOLD_FIELDS = ("label", "answer")


def unique_records(
    make: Callable[[random.Random, str], Record], rng: random.Random, kind: str, count: int
) -> list[Record]:
    """Draw until ``count`` distinct records; a duplicate would leak between train and test."""
    seen: set[str] = set()
    records = []
    for _ in range(count * 200):
        record = make(rng, kind)
        key = json.dumps({k: v for k, v in record.items() if k not in GOLD_FIELDS}, sort_keys=True)
        if key not in seen:
            seen.add(key)
            records.append(record)
            if len(records) == count:
                return records
    raise RuntimeError(f"the frames give fewer than {count} distinct records")


def write_jsonl(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def main() -> None:
    total = sum(SPLIT_SIZES.values())
    for folders, prefix, make, id_field in TASKS:
        for kind in KINDS:
            rng = random.Random(f"{SEED}-{prefix}-{kind}")
            records = unique_records(make, rng, kind, total)
            start = 0
            for split, size in SPLIT_SIZES.items():
                part = records[start : start + size]
                for number, record in enumerate(part):
                    ident = f"{kind[:3]}-{split}-{number:04d}" if id_field == "id" else number
                    record[id_field] = ident
                for folder in folders:
                    write_jsonl(HERE / kind / folder / f"{prefix}_{split}.jsonl", part)
                start += size


if __name__ == "__main__":
    main()
