"""Budgets: a run's memory estimated from its config bounds what it allocates, and a run over a
budget is refused with the largest size that fits, before anything is allocated."""

from __future__ import annotations

import contextlib
import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app import protocol as p
from app.run import budget
from app.run.state import check_limits, weigh
from app.session import CommandRefused, Session
from app.web.sessions import limits_from
from app.web.settings import Settings
from app.web.workers.hosted import LIGHT_SECONDS

LIMITS = limits_from(Settings())


def config(**fields: object) -> p.RunConfig:
    return p.RunConfig.model_validate(fields)


def estimate(run: p.RunConfig) -> budget.Estimate:
    return weigh(check_limits(run, LIMITS), run)


def everything(session: Session) -> None:
    """Every command that allocates, each where it allocates most."""
    session.train(1)  # iteration 0: the held-out evaluation too
    session.spectrum()
    # An encoder-decoder's diagnostics are refused (the lab measures single networks), and so
    # is sampling a task whose outputs are not its inputs.
    with contextlib.suppress(CommandRefused):
        session.diagnose()  # mid-forward: a whole pass of its own
    session.finish_iteration()  # every step forward and back, then the update
    while session.stepper.next_move == "forward":
        session.advance()
    session.advance()  # the first BPTT step: the gradient-flow array
    with contextlib.suppress(CommandRefused):
        session.diagnose()  # beside a whole BPTT pass
    session.train(2)
    p.encode(session.export())
    with contextlib.suppress(CommandRefused):
        session.sample(p.Sample(type="sample", length=20))


@contextmanager
def traced() -> Iterator[None]:
    gc.collect()
    gc.disable()  # what a run allocates must go by reference counting alone
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
        gc.enable()


MATRIX = [
    config(),
    config(task="text", cell="rnn", hidden_size=32, seq_len=25, batch_size=8),
    config(task="text", cell="lstm", hidden_size=24, seq_len=16, batch_size=4, optimizer="adam"),
    config(task="words", cell="gru", hidden_size=16, embedding_size=12, batch_size=16),
    config(task="sentiment", cell="lstm", hidden_size=16, batch_size=8, truncation=3),
    config(task="numbers", cell="gru", hidden_size=20, batch_size=8),
    config(task="numbers", cell="lstm", hidden_size=16, embedding_size=8, batch_size=4),
    config(task="adding", cell="rnn", hidden_size=24, seq_len=20, batch_size=8, optimizer="sgd"),
    config(task="sine", cell="lstm", hidden_size=16, seq_len=30, batch_size=4),
    config(task="remember", cell="gru", hidden_size=24, seq_len=12, batch_size=16),
    config(task="melody", cell="rnn", activation="relu", hidden_size=48, batch_size=2),
    config(task="tagging", cell="lstm", hidden_size=40, batch_size=12, optimizer="rmsprop"),
]


@pytest.mark.parametrize("run", MATRIX, ids=lambda c: f"{c.task}-{c.cell}-{c.hidden_size}")
def test_the_estimate_bounds_what_a_run_allocates_through_every_command(run: p.RunConfig) -> None:
    needed = estimate(run)
    with traced():
        everything(Session(run, LIMITS))
        _, peak = tracemalloc.get_traced_memory()
    assert peak <= needed.bytes
    assert needed.bytes <= 6 * peak + budget.SESSION_OVERHEAD  # a bound, not a guess far off


def test_a_pasted_text_counts_and_bounds_its_run() -> None:
    text = "the quick brown fox jumps over the lazy dog; " * 200
    run = config(task="pasted", hidden_size=24, seq_len=20, batch_size=4)
    with traced():
        session = Session(config(), LIMITS)
        session.use_text(text)
        session.configure(run)
        everything(session)
        _, peak = tracemalloc.get_traced_memory()
    task = check_limits(run, LIMITS, session.run.task)
    assert peak <= weigh(task, run, text).bytes
    assert weigh(task, run, text).bytes > weigh(task, run).bytes


def test_memory_grows_with_every_size_of_the_run() -> None:
    sizes = {"hidden_size": 16, "seq_len": 10, "batch_size": 4}
    base = estimate(config(task="text", **sizes)).bytes
    for field, bigger in [("hidden_size", 32), ("seq_len", 20), ("batch_size", 8)]:
        assert estimate(config(task="text", **{**sizes, field: bigger})).bytes > base, field
    assert estimate(config(task="text", cell="lstm")).bytes > estimate(config(task="text")).bytes


def refusal(run: p.RunConfig, granted: budget.Allowance) -> CommandRefused:
    with budget.allowance(granted), pytest.raises(CommandRefused) as refused:
        Session(run, LIMITS)
    return refused.value


@pytest.mark.parametrize("field", ["hidden_size", "seq_len", "batch_size", "embedding_size"])
def test_over_the_session_budget_names_the_field_and_the_largest_value_that_fits(
    field: str,
) -> None:
    sizes = {"hidden_size": 64, "seq_len": 60, "batch_size": 32, "embedding_size": 0}
    sizes[field] = {"hidden_size": 256, "seq_len": 200, "batch_size": 64, "embedding_size": 256}[
        field
    ]
    run = config(task="text", **sizes)
    # A budget that a quarter of the field's size meets, the other sizes as they are.
    limit = estimate(config(task="text", **{**sizes, field: max(1, sizes[field] // 4)})).bytes
    refused = refusal(run, budget.Allowance(session_bytes=limit))
    assert refused.code == "over_budget"
    assert refused.field is not None and refused.message.startswith(refused.field[7:] + ": at most")
    named = refused.field.removeprefix("config.")
    largest = int(refused.message.split("at most ")[1].split()[0])
    # Exactly the largest: it fits, one more does not.
    assert estimate(run.model_copy(update={named: largest})).bytes <= limit
    assert estimate(run.model_copy(update={named: largest + 1})).bytes > limit
    assert "per-session memory budget" in refused.message


def test_a_run_over_what_the_server_has_left_is_refused_and_nothing_is_kept() -> None:
    claims: list[int] = []
    run = config(task="text", hidden_size=128, seq_len=100, batch_size=32)
    left = estimate(run.model_copy(update={"hidden_size": 40})).bytes

    def claim(size: int) -> int | None:
        claims.append(size)
        return left

    refused = refusal(run, budget.Allowance(claim=claim))
    assert refused.code == "over_budget" and refused.field == "config.hidden_size"
    assert refused.message.startswith("hidden_size: at most 40 fits the ")
    assert "of memory this server has left" in refused.message
    assert claims == [estimate(run).bytes]  # asked once, for what the run needs


def test_a_claim_granted_opens_the_run() -> None:
    claims: list[int] = []
    with budget.allowance(budget.Allowance(claim=lambda size: claims.append(size))):
        Session(config(), LIMITS)
    assert claims == [estimate(config()).bytes]


def test_a_run_too_long_for_a_light_worker_is_misplaced_not_refused() -> None:
    heavy = config(task="text", cell="lstm", hidden_size=128, seq_len=100, batch_size=32)
    assert estimate(heavy).seconds > LIGHT_SECONDS > estimate(config()).seconds
    light = budget.Allowance(seconds=LIGHT_SECONDS)
    with budget.allowance(light), pytest.raises(budget.Misplaced):
        Session(heavy, LIMITS)
    with budget.allowance(light):
        Session(config(), LIMITS)  # the lesson's run is light


def test_embedding_size_has_a_cap_like_every_size() -> None:
    with pytest.raises(CommandRefused) as refused:
        Session(config(task="words", embedding_size=LIMITS.max_embedding_size + 1), LIMITS)
    assert (refused.value.code, refused.value.field) == ("out_of_range", "config.embedding_size")


def test_an_import_over_the_budget_is_refused_before_it_allocates() -> None:
    big = Session(config(task="text", hidden_size=64, seq_len=50, batch_size=16), LIMITS)
    state = big.export().state
    small = Session(config(), LIMITS)
    limit = estimate(config(task="text", hidden_size=16, seq_len=50, batch_size=16)).bytes
    granted = budget.Allowance(session_bytes=limit)
    with budget.allowance(granted), pytest.raises(CommandRefused) as refused:
        small.import_state(state)
    assert refused.value.code == "over_budget"
    assert refused.value.field == "state.config.hidden_size"
    assert small.config == config()  # untouched
