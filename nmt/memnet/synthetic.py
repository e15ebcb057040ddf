"""A generated story / question task in the spirit of the bAbI tasks (Weston et al. 2015):
people move between places and pick up and drop objects; questions ask about the story's end.

Question types (each answer is one word):
- where_person   "where is mary ?"                    one supporting fact (the last move)
- where_before   "where was mary before the garden ?" two facts (the move there, the one before)
- carrying       "what is john carrying ?"            an object or "nothing"
- where_object   "where is the apple ?"               two facts (who has it, or where it was
                                                      dropped, and where that person went)

Everything follows from a seed, so the task needs no download. Stories are written as JSONL
(one example per line: story sentences, question, answer, type, supporting sentence indices).
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nmt.errors import NmtError

PEOPLE = ("mary", "john", "sandra", "daniel", "fred", "julie")
PLACES = ("kitchen", "garden", "office", "hallway", "bedroom", "bathroom")
OBJECTS = ("apple", "football", "milk", "book")
MOVES = ("went to", "moved to", "journeyed to", "travelled to")
QUESTION_TYPES = ("where_person", "where_before", "carrying", "where_object")


class _World:
    """Where everyone and everything is, and which sentence said so."""

    def __init__(self) -> None:
        self.place: dict[str, tuple[str, int]] = {}  # person -> (place, sentence)
        self.previous: dict[str, list[tuple[str, int]]] = {}  # person -> every (place, sentence)
        self.holding: dict[str, tuple[str, int]] = {}  # person -> (object, sentence)
        self.object_at: dict[str, tuple[str, int]] = {}  # dropped object -> (place, sentence)
        self.held_by: dict[str, tuple[str, int]] = {}  # object -> (person, sentence)


def _story(rng: random.Random, length: int) -> tuple[list[str], _World]:
    world = _World()
    sentences: list[str] = []
    people = rng.sample(PEOPLE, 4)
    while len(sentences) < length:
        index = len(sentences)
        person = rng.choice(people)
        here = world.place.get(person)
        roll = rng.random()
        if here and roll < 0.2 and person not in world.holding:
            free = [o for o in OBJECTS if o not in world.held_by]
            free = [o for o in free if world.object_at.get(o, (here[0],))[0] == here[0]]
            if free:
                thing = rng.choice(free)
                sentences.append(f"{person} picked up the {thing} .")
                world.held_by[thing] = (person, index)
                world.holding[person] = (thing, index)
                world.object_at.pop(thing, None)
                continue
        if here and roll < 0.3 and person in world.holding:
            thing = world.holding.pop(person)[0]
            del world.held_by[thing]
            world.object_at[thing] = (here[0], index)
            sentences.append(f"{person} dropped the {thing} .")
            continue
        place = rng.choice([p for p in PLACES if not here or p != here[0]])
        sentences.append(f"{person} {rng.choice(MOVES)} the {place} .")
        world.place[person] = (place, index)
        world.previous.setdefault(person, []).append((place, index))
    return sentences, world


def _questions(world: _World) -> list[dict[str, Any]]:
    """Every question the story can answer, with its answer and supporting sentences."""
    found = []
    for person, (place, index) in world.place.items():
        found.append(("where_person", f"where is {person} ?", place, [index]))
        visits = world.previous[person]
        if len(visits) >= 2:
            (before, first), (last, second) = visits[-2], visits[-1]
            found.append(("where_before", f"where was {person} before the {last} ?", before,
                          [first, second]))  # fmt: skip
        held = world.holding.get(person)
        found.append((
            "carrying", f"what is {person} carrying ?", held[0] if held else "nothing",
            [held[1]] if held else [],
        ))  # fmt: skip
    for thing in OBJECTS:
        if thing in world.held_by:
            person, picked = world.held_by[thing]
            place, moved = world.place[person]
            found.append(("where_object", f"where is the {thing} ?", place,
                          sorted({picked, moved})))  # fmt: skip
        elif thing in world.object_at:
            place, dropped = world.object_at[thing]
            found.append(("where_object", f"where is the {thing} ?", place, [dropped]))
    return [
        {"type": kind, "question": question, "answer": answer, "supporting": supporting}
        for kind, question, answer, supporting in found
    ]


def make_stories(count: int, seed: int, min_sentences: int = 4, max_sentences: int = 12):
    """`count` examples, cycling through the question types so each gets a quarter (a quarter
    of the "carrying" questions are about someone empty-handed)."""
    if count < 0 or not 1 <= min_sentences <= max_sentences:
        raise NmtError(f"bad story settings: count {count}, sentences {min_sentences}-"
                       f"{max_sentences}")  # fmt: skip
    rng = random.Random(seed)
    examples: list[dict[str, Any]] = []
    while len(examples) < count:
        wanted = QUESTION_TYPES[len(examples) % len(QUESTION_TYPES)]
        sentences, world = _story(rng, rng.randint(min_sentences, max_sentences))
        candidates = [q for q in _questions(world) if q["type"] == wanted]
        if wanted == "carrying" and rng.random() < 0.75:  # else "nothing" would be most answers
            candidates = [q for q in candidates if q["answer"] != "nothing"]
        if candidates:
            examples.append({"story": sentences, **rng.choice(candidates)})
    return examples


def write_story_splits(
    out_dir: str | Path, sizes: Mapping[str, int], seed: int = 0, max_sentences: int = 12
) -> dict[str, Path]:
    """Write SPLIT.jsonl for each split; different splits come from different seeds."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for offset, (split, size) in enumerate(sizes.items()):
        examples = make_stories(size, seed * 1000 + offset, max_sentences=max_sentences)
        path = out_dir / f"{split}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in examples), encoding="utf-8")
        paths[split] = path
    return paths
