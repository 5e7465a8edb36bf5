"""The session, without a socket: the teaching cycle, refusals, mid-run changes, export/import."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from app import protocol as p
from app.session import CommandRefused, Session
from app.tasks import PRESETS

LIMITS = p.Limits(
    max_hidden_size=64,
    max_seq_len=50,
    max_vocab=256,
    max_batch=64,
    max_train_iterations=1000,
    max_message_bytes=65536,
    max_commands_per_second=50,
)


def wire(frame: object) -> dict[str, object]:
    """What the client receives, checked against the protocol."""
    data = orjson.loads(p.encode(frame))  # type: ignore[arg-type]
    p.frame_adapter.validate_python(data)
    return data  # type: ignore[no-any-return]


def make(**overrides: object) -> Session:
    return Session(p.RunConfig(**overrides), LIMITS)  # type: ignore[arg-type]


def preset(name: str, **overrides: object) -> Session:
    config = {**PRESETS[name].config, **overrides}
    return Session(p.RunConfig(**config), LIMITS)  # type: ignore[arg-type]


def test_forward_steps_then_backward_steps_then_update() -> None:
    session = make()
    T = session.hello().seq_len
    forwards = [wire(session.step_forward()) for _ in range(T)]
    assert [f["t"] for f in forwards] == list(range(T))
    with pytest.raises(CommandRefused) as refused:
        session.step_forward()
    assert refused.value.code == "bad_phase"
    backwards = [wire(session.step_backward()) for _ in range(T)]
    assert [b["t"] for b in backwards] == list(range(T - 1, -1, -1))
    assert all(len(b["flow_row"]) == b["t"] + 1 for b in backwards)
    kinds = [wire(f)["type"] for f in session.advance()]
    assert kinds == ["update", "sequence", "spectrum"]
    assert session.iteration.number == 1


def test_backward_before_forward_is_refused_and_changes_nothing() -> None:
    session = make()
    with pytest.raises(CommandRefused) as refused:
        session.step_backward()
    assert refused.value.code == "bad_phase"
    assert session.iteration.forward.t == 0


def test_same_seed_same_frames_different_seed_different_frames() -> None:
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    fa, fb, fc = (wire(s.step_forward()) for s in (a, b, c))
    assert fa == fb
    assert fa["h"] != fc["h"]


def test_limits_are_enforced_naming_the_field() -> None:
    with pytest.raises(CommandRefused) as refused:
        make(hidden_size=65)
    assert refused.value.field == "config.hidden_size"
    session = make()
    with pytest.raises(CommandRefused) as refused:
        session.configure(p.RunConfig(task="no-such-task"))
    assert refused.value.field == "config.task"
    assert session.config.task == "hello"  # the old run goes on


def test_training_on_hello_drives_the_loss_near_zero() -> None:
    session = make(hidden_size=8, learning_rate=0.1)
    first = wire(session.train(1))
    last = wire(session.train(300))
    assert last["iteration"] == 301
    assert float(last["loss"]) < 0.1 * float(first["loss"])
    # The cycle can go on stepping after training, with the trained weights.
    forward = wire(session.step_forward())
    assert forward["top"][0]["token"] == "e"


def test_set_hyper_changes_learning_rate_without_reset() -> None:
    session = make()
    session.train(5)
    params_before = {k: v.copy() for k, v in session.run.params.items()}
    session.set_hyper(p.SetHyper(type="set_hyper", learning_rate=0.5, clip_mode="norm"))
    assert session.run.optimizer.lr == 0.5
    assert session.config.clip_mode == "norm"
    assert session.iteration.number == 5
    for name, value in session.run.params.items():
        np.testing.assert_array_equal(value, params_before[name])


def test_sampling_uses_its_own_generator() -> None:
    a, b = make(), make()
    text = a.sample(p.Sample(type="sample", length=12, prime="he")).text
    assert len(text) == 12 and set(text) <= set("helo")
    assert wire(a.step_forward()) == wire(b.step_forward())  # sampling did not disturb training
    with pytest.raises(CommandRefused) as refused:
        a.sample(p.Sample(type="sample", prime="hex"))
    assert refused.value.field == "prime"


def test_spectrum_reports_the_pascanu_bound() -> None:
    session = make(init="orthogonal", spectral_radius=0.5, hidden_size=6)
    frame = wire(session.spectrum())
    assert frame["spectral_radius"] == pytest.approx(0.5, rel=1e-5)
    assert frame["gamma"] == 1.0
    assert frame["vanishing_sufficient"] is True


@pytest.mark.parametrize("forward_steps, backward_steps", [(0, 0), (2, 0), (4, 3)])
def test_export_then_import_gives_the_same_next_frames(
    forward_steps: int, backward_steps: int
) -> None:
    original = make(hidden_size=5, seed=11)
    original.train(7)
    for _ in range(forward_steps):
        original.step_forward()
    for _ in range(backward_steps):
        original.step_backward()
    exported = orjson.loads(p.encode(original.export()))  # through JSON, as a browser would
    command = p.parse_command(orjson.dumps({"type": "import", "state": exported["state"]}), 1 << 22)
    assert isinstance(command, p.Import)
    restored = make(hidden_size=3, seed=0)
    restored.import_state(command.state)
    for _ in range(2 * 4 + 2):
        assert [wire(f) for f in restored.advance()] == [wire(f) for f in original.advance()]
    assert wire(restored.train(3)) == wire(original.train(3))


@pytest.mark.parametrize(
    ("name", "steps", "overrides"),
    [
        ("numbers", 9, {}),  # into the decoder's BPTT
        ("text", 30, {"cell": "lstm", "hidden_size": 8}),  # stateful, [h, c] carried
        ("sine", 45, {}),  # real values
    ],
)
def test_every_kind_of_run_replays_bit_for_bit_after_import(
    name: str, steps: int, overrides: dict[str, object]
) -> None:
    original = preset(name, batch_size=2, **overrides)
    original.train(3)
    for _ in range(steps):
        original.advance()
    exported = orjson.loads(p.encode(original.export()))["state"]
    restored = make()
    restored.import_state(p.SessionState.model_validate(exported))
    assert wire(restored.hello()) | {"session_id": ""} == wire(original.hello()) | {
        "session_id": ""
    }
    for _ in range(2 * original.iteration.length + 3):
        assert [wire(f) for f in restored.advance()] == [wire(f) for f in original.advance()]
    assert wire(restored.train(2)) == wire(original.train(2))
    assert wire(restored.spectrum()) == wire(original.spectrum())


def test_import_with_wrong_shapes_is_refused_and_keeps_the_session() -> None:
    session = make(hidden_size=4)
    state = orjson.loads(p.encode(session.export()))["state"]
    state["params"]["W_hh"] = [[0.0]]
    command = p.parse_command(orjson.dumps({"type": "import", "state": state}), 1 << 22)
    assert isinstance(command, p.Import)
    before = wire(make(hidden_size=4).step_forward())
    with pytest.raises(CommandRefused) as refused:
        session.import_state(command.state)
    assert refused.value.field == "state.params.W_hh"
    assert (
        refused.value.message
        == "cannot import: state.params.W_hh has shape (1, 1); this run's has (4, 4)"
    )
    assert wire(session.step_forward()) == before


def test_non_finite_values_are_shown_as_markers_and_never_applied() -> None:
    session = make(hidden_size=4, activation="linear")
    session.run.params["W_hh"][0, 0] = np.inf  # as if a run had exploded
    before = {k: v.copy() for k, v in session.run.params.items()}
    frames = [wire(f) for f in session.finish_iteration()]
    forward = [f for f in frames if f["type"] == "forward"]
    assert any(isinstance(x, str) for f in forward[1:] for x in f["h"])  # markers, not crashes
    update = next(f for f in frames if f["type"] == "update")
    assert update["finite"] is False
    for name, value in session.run.params.items():
        np.testing.assert_array_equal(value, before[name])  # the update was not applied


# ---------------------------------------------------------------- the gradient lab's measurements


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear", "sigmoid"])
def test_diagnose_measures_flow_within_the_pascanu_bound(activation: str) -> None:
    session = preset("gradients-tanh-1.0", activation=activation, seq_len=12)
    session.step_forward()  # mid-iteration: diagnose must leave the cursor alone
    frame = wire(session.diagnose())
    flow = np.array(frame["flow"], dtype=float)
    T = frame["seq_len"]
    assert flow.shape == (T, T) and np.allclose(np.triu(flow, 1), 0)
    bound = frame["gamma"] * frame["largest_singular_value"]
    for t in range(T):
        for k in range(t + 1):
            assert flow[t, k] <= bound ** (t - k) * flow[t, t] * (1 + 1e-4) + 1e-12
    assert len(frame["jacobian_norms"]) == len(frame["dh_norms"]) == T
    assert 0 <= frame["saturation"] <= 1
    assert session.iteration.forward_steps == 1


def test_rescaling_w_hh_moves_its_spectrum_and_restarts_the_iteration() -> None:
    session = make(hidden_size=6)
    tokens = session.sequence().tokens
    session.step_forward()
    frames = [wire(f) for f in session.rescale(1.5)]
    assert [f["type"] for f in frames] == ["sequence", "spectrum"]
    assert frames[0]["tokens"] == tokens and session.iteration.forward_steps == 0
    assert frames[1]["spectral_radius"] == pytest.approx(1.5, rel=1e-5)
    small = wire(session.rescale(0.5)[1])
    assert small["largest_singular_value"] < frames[1]["largest_singular_value"]


@pytest.mark.parametrize("mode", ["norm", "value"])
def test_update_reports_the_norm_before_and_after_clipping(mode: str) -> None:
    session = preset("gradients-linear-1.5-clipped", clip_mode=mode, clip_threshold=0.01)
    update = next(f for f in map(wire, session.finish_iteration()) if f["type"] == "update")
    assert update["clipped"] is True
    assert update["norm_after_clip"] < update["norm_before_clip"]
    if mode == "norm":
        assert update["norm_after_clip"] == pytest.approx(0.01, rel=1e-6)


def test_update_frames_carry_the_smoothed_loss_and_perplexity() -> None:
    session = make()  # hello: 4 characters out, a target at each of 4 steps
    updates = [f for f in map(wire, session.finish_iteration()) if f["type"] == "update"]
    start = np.log(4) * 4  # min-char-rnn's smooth_loss = -log(1/V) * seq_length
    assert updates[0]["smooth_loss"] == pytest.approx(0.999 * start + 0.001 * updates[0]["loss"])
    assert updates[0]["perplexity"] == pytest.approx(np.exp(updates[0]["loss"] / 4), rel=1e-6)
    second = next(f for f in map(wire, session.finish_iteration()) if f["type"] == "update")
    expected = 0.999 * updates[0]["smooth_loss"] + 0.001 * second["loss"]
    assert second["smooth_loss"] == pytest.approx(expected)


def test_perplexity_is_per_counted_target_not_per_step() -> None:
    # The repro: one counted target per 150 steps read 1.013 as exp(loss / 150).
    config = {**PRESETS["remember-rnn-long"].config, "batch_size": 4}
    session = Session(p.RunConfig(**config), LIMITS.model_copy(update={"max_seq_len": 150}))
    assert session.run.current_batch().counted_targets == 1.0
    vocab = len(session.run.task.output_vocab)
    progress = wire(session.train(3))
    assert progress["perplexity"] == pytest.approx(np.exp(progress["loss"]), rel=1e-6)
    assert progress["perplexity"] > 2.0  # near the vocabulary's size at the start, not 1.01
    # The smoothed loss starts from a uniform guess at the one counted target, not at 150 of them.
    smooth = np.log(vocab)
    for loss in session.run.loss_history:
        smooth = 0.999 * smooth + 0.001 * loss
    assert progress["smooth_loss"] == pytest.approx(smooth, rel=1e-12)


def test_set_hyper_changes_the_temperature_without_reset() -> None:
    session = make()
    session.train(3)
    session.set_hyper(p.SetHyper(type="set_hyper", temperature=0.5))
    assert session.config.temperature == 0.5 and session.iteration.number == 3


def test_sampling_draws_at_the_runs_temperature_unless_told_otherwise() -> None:
    a, b = preset("text", hidden_size=8), preset("text", hidden_size=8)
    assert a.config.temperature == 0.8
    default = a.sample(p.Sample(type="sample", length=30))
    assert default.temperature == 0.8
    assert default.text == b.sample(p.Sample(type="sample", length=30, temperature=0.8)).text
    a.set_hyper(p.SetHyper(type="set_hyper", temperature=3.0))
    b.set_hyper(p.SetHyper(type="set_hyper", temperature=3.0))
    hot = a.sample(p.Sample(type="sample", length=30))
    assert hot.temperature == 3.0
    assert hot.text == b.sample(p.Sample(type="sample", length=30, temperature=3.0)).text
    told = a.sample(p.Sample(type="sample", length=30, temperature=0.1))
    assert told.temperature == 0.1 and a.config.temperature == 3.0


def test_starting_over_swaps_the_run_and_a_refusal_keeps_it() -> None:
    session = make()
    session.train(2)
    run, session_id = session.run, session.id
    state = orjson.loads(p.encode(session.export()))["state"]
    too_big = p.SessionState.model_validate({**state, "config": {"hidden_size": 65}})
    refusals = {
        "config.task": lambda: session.configure(p.RunConfig(task="no-such-task")),
        "text": lambda: session.use_text("too short"),
        "state.config.hidden_size": lambda: session.import_state(too_big),
    }
    for field, refused in refusals.items():
        with pytest.raises(CommandRefused) as refusal:
            refused()
        assert refusal.value.field == field
        assert session.run is run and session.iteration.number == 2
    hello = session.configure(p.RunConfig(hidden_size=5))
    assert session.run is not run and session.id == session_id == hello.session_id
    assert session.iteration.number == 0 and session.config.hidden_size == 5
    # One object holds the whole run; beside it only the files uploaded for the session.
    assert set(vars(session)) == {"id", "limits", "shelf", "stepper"}
