"""Every preset tells the truth: each claim it makes (its title and one-line note, each numbered
claim of its lesson) is backed by an Expectation, states that expectation's bound, claims growth
or decay of the gradient only where a measured flow says so, and holds when the preset is run
through a Session, the pages' own code path."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pytest

from app.tasks import PRESETS, Expectation, Preset
from app.tasks.preset import make_preset
from tests.tasks.pages import measured

GROWTH = re.compile(r"\b(grows?|growing|explodes?|exploding|blows? up)\b", re.IGNORECASE)
DECAY = re.compile(r"\b(vanish(es|ing)?|dies|die away|dying|fades?|fading|shrinks?)\b", re.I)
NEGATED = re.compile(r"\b(not|nor|never|no|cannot)\s+(\w+\s+)?$", re.IGNORECASE)
FLOW_METRICS = {"initial_flow_ratio", "initial_flow_minimum", "final_flow_ratio"}
ITEM = re.compile(r"^(\d+)\. (.*)$")
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?")


def numbered_claims(lesson: str) -> dict[int, str]:
    """The lesson's numbered claims ("1. ..." and its indented lines), by number."""
    claims: dict[int, str] = {}
    current = None
    for line in lesson.splitlines():
        if match := ITEM.match(line):
            current = int(match.group(1))
            claims[current] = match.group(2)
        elif current is not None and line.startswith("   ") and line.strip():
            claims[current] += " " + line.strip()
        else:
            current = None
    return claims


def spellings(bound: float) -> set[str]:
    """How a bound may be written: 0.0001 or 1e-4, 1e-10, 1000, 0.95."""
    plain = f"{bound:g}"
    mantissa, _, exponent = f"{bound:.0e}".partition("e")
    short = f"{mantissa}e{int(exponent)}" if float(f"{mantissa}e{exponent}") == bound else plain
    return {plain, short}


def directions(text: str) -> set[str]:
    """ "growth" and "decay" where the text claims them (not where it denies them)."""
    found = set()
    for name, pattern in (("growth", GROWTH), ("decay", DECAY)):
        for match in pattern.finditer(text):
            if not NEGATED.search(text[max(0, match.start() - 24) : match.start()]):
                found.add(name)
    return found


def backs(expectation: Expectation, direction: str) -> bool:
    """Whether a measured flow shows that growth (at least 10x) or decay (at most 0.01x)."""
    if expectation.metric not in FLOW_METRICS:
        return False
    if direction == "growth":
        return expectation.above is not None and expectation.above >= 10
    return expectation.below is not None and expectation.below <= 0.01


def claim_problems(name: str, text: str, backing: list[Expectation]) -> list[str]:
    """What is wrong with one claim: no expectation, a bound it does not state, a direction no
    flow measurement shows."""
    if not backing:
        return [f"{name}: no expectation backs it: {text!r}"]
    found = []
    for expectation in backing:
        for bound in (expectation.below, expectation.above):
            if bound is not None and not spellings(bound) & set(NUMBER.findall(text)):
                found.append(f"{name}: {expectation.metric}'s bound {bound:g} is not in {text!r}")
    for direction in directions(text):
        if not any(backs(e, direction) for e in backing):
            found.append(f"{name}: claims {direction} that no flow measurement shows: {text!r}")
    return found


def problems(presets: Iterable[Preset], lesson_of: Callable[[Preset], str]) -> list[str]:
    """Every unbacked, misstated or unmeasured claim of these presets and their lessons."""
    found: list[str] = []
    by_lesson: dict[str, list[Preset]] = {}
    for preset in presets:
        by_lesson.setdefault(lesson_of(preset), []).append(preset)
        own = [e for e in preset.expectations if 0 in e.claims]
        found += claim_problems(preset.name, f"{preset.title}. {preset.note}", own)
    for lesson, group in by_lesson.items():
        claims = numbered_claims(lesson)
        cited = {n for preset in group for e in preset.expectations for n in e.claims if n}
        found += [f"{group[0].lesson_name}: no claim {n}" for n in sorted(cited - set(claims))]
        for n, text in claims.items():
            backing = [e for preset in group for e in preset.expectations if n in e.claims]
            found += claim_problems(f"{group[0].lesson_name} claim {n}", text, backing)
    return found


def test_every_claim_is_backed_states_its_bounds_and_its_direction() -> None:
    assert problems(PRESETS.values(), lambda preset: preset.lesson) == []
    for preset in PRESETS.values():
        assert preset.lesson.startswith("# ") and "Try next" in preset.lesson, preset.name
        assert numbered_claims(preset.lesson), f"{preset.name}: its lesson claims nothing"


def fake(title: str, note: str, *expectations: Expectation) -> Preset:
    return make_preset("fake", title, "remember", "gradients", note, 1, expectations)


def test_the_checker_catches_claims_the_run_does_not_show() -> None:
    decays = Expectation("initial_flow_ratio", below=1e-4)
    lesson = "# L\n\n1. It explodes: the ratio is above 1000.\n2. Accuracy above 0.9.\n"
    cases = {
        "claims growth": fake("Exploding gradients", "below 1e-4", decays),
        "bound": fake("Gradient flow", "it holds", decays),
        "no expectation": fake("A title", "some note"),
        "claim 3": fake("T", "below 1e-4", decays, Expectation("accuracy", above=1, claims=(3,))),
    }
    for wanted, preset in cases.items():
        found = problems([preset], lambda _: lesson)
        assert any(wanted in problem for problem in found), (wanted, found)
    # The lesson's claims: 1 claims growth that no expectation backs, 2 has no expectation.
    found = problems([fake("T", "below 1e-4", decays)], lambda _: lesson)
    assert any("claim 1: no expectation" in problem for problem in found)
    assert any("claim 2: no expectation" in problem for problem in found)
    wrong_way = Expectation("initial_flow_ratio", below=1e-4, claims=(0, 1))
    found = problems([fake("T", "below 1e-4", wrong_way)], lambda _: lesson)
    assert any("claim 1: claims growth" in problem for problem in found)
    honest = (
        Expectation("initial_flow_ratio", above=1e3, claims=(0, 1)),
        Expectation("accuracy", above=0.9, claims=(2,)),
    )
    assert problems([fake("It explodes", "above 1000", *honest)], lambda _: lesson) == []
    assert directions("the gradient does not fade, nor explode") == set()
    assert directions("it dies away; then it grows") == {"decay", "growth"}
    assert spellings(1e-4) == {"0.0001", "1e-4"} and spellings(0.95) == {"0.95"}


def test_exploding_presets_show_growth_at_iteration_0() -> None:
    for preset in PRESETS.values():
        if directions(preset.title) == {"growth"}:
            growth = [e for e in preset.expectations if e.metric == "initial_flow_ratio"]
            assert growth and growth[0].above is not None and growth[0].above > 10, preset.name


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_tells_the_truth_through_the_pages_code_path(name: str) -> None:
    preset = PRESETS[name]
    metrics = measured(preset)
    for expectation in preset.expectations:
        value = metrics[expectation.metric]
        assert expectation.met(value), f"{preset.statement()} Got {expectation.metric}={value:.4g}"
