"""The session, without a socket: the teaching cycle, refusals, mid-run changes, export/import."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from app import protocol as p
from app.session import CommandRefused, Session

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
    params_before = {k: v.copy() for k, v in session.params.items()}
    session.set_hyper(p.SetHyper(type="set_hyper", learning_rate=0.5, clip_mode="norm"))
    assert session.optimizer.lr == 0.5
    assert session.config.clip_mode == "norm"
    assert session.iteration.number == 5
    for name, value in session.params.items():
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


def test_import_with_wrong_shapes_is_refused_and_keeps_the_session() -> None:
    session = make(hidden_size=4)
    state = orjson.loads(p.encode(session.export()))["state"]
    state["params"]["W_hh"] = [[0.0]]
    command = p.parse_command(orjson.dumps({"type": "import", "state": state}), 1 << 22)
    assert isinstance(command, p.Import)
    before = wire(make(hidden_size=4).step_forward())
    with pytest.raises(CommandRefused) as refused:
        session.import_state(command.state)
    assert refused.value.field == "state" and "W_hh" in refused.value.message
    assert wire(session.step_forward()) == before


def test_non_finite_values_are_shown_as_markers_and_never_applied() -> None:
    session = make(hidden_size=4, activation="linear")
    session.params["W_hh"][0, 0] = np.inf  # as if a run had exploded
    before = {k: v.copy() for k, v in session.params.items()}
    frames = [wire(f) for f in session.finish_iteration()]
    forward = [f for f in frames if f["type"] == "forward"]
    assert any(isinstance(x, str) for f in forward[1:] for x in f["h"])  # markers, not crashes
    update = next(f for f in frames if f["type"] == "update")
    assert update["finite"] is False
    for name, value in session.params.items():
        np.testing.assert_array_equal(value, before[name])  # the update was not applied


# ---------------------------------------------------------------- every kind of lesson task


def preset(name: str, **overrides: object) -> Session:
    from app.tasks import PRESETS

    return Session(p.RunConfig(**{**PRESETS[name].config, **overrides}), LIMITS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "hello",
        "words",
        "sentiment",
        "tagging",
        "melody",
        "sine",
        "adding-rnn-short",
        "remember-rnn-short",
        "numbers",
        "text",
    ],
)
def test_every_preset_steps_through_a_whole_iteration_and_trains(name: str) -> None:
    session = preset(name, batch_size=2)
    hello = wire(session.hello())
    T = hello["seq_len"]
    frames = [wire(f) for f in session.finish_iteration()]
    kinds = [f["type"] for f in frames]
    assert kinds == ["forward"] * T + ["backward"] * T + ["update", "sequence", "spectrum"]
    forwards = frames[:T]
    assert [f["t"] for f in forwards] == list(range(T))
    assert [f["input_token"] for f in forwards] == hello["tokens"]
    assert [f["target_token"] for f in forwards] == hello["targets"]
    assert any(f["counted"] for f in forwards)
    assert sorted(f["t"] for f in frames[T : 2 * T]) == list(range(T))
    progress = wire(session.train(3))
    assert progress["iteration"] == 4
    assert session.evaluate()  # held-out metrics of the task


def test_many_to_one_counts_only_the_last_real_step() -> None:
    session = preset("sentiment")
    forwards = [wire(session.step_forward()) for _ in range(session.iteration.length)]
    counted = [f for f in forwards if f["counted"]]
    assert len(counted) == 1
    assert counted[0]["target_token"] in ("negative", "positive") or counted[0]["target_token"]
    assert all(f["loss"] == 0 for f in forwards if not f["counted"])


def test_regression_frames_carry_prediction_and_truth() -> None:
    forward = wire(preset("sine").step_forward())
    assert forward["top"] == [] and forward["target_prob"] is None
    assert len(forward["target_value"]) == len(forward["y"]) == 1


def test_encoder_decoder_marks_its_phases_and_context() -> None:
    session = preset("numbers")
    hello = wire(session.hello())
    Te = hello["encoder_len"]
    assert 0 < Te < hello["seq_len"]
    assert hello["tokens"][Te] == "<sos>"
    assert all(target == "" for target in hello["targets"][:Te])
    frames = [wire(f) for f in session.finish_iteration()]
    forwards = [f for f in frames if f["type"] == "forward"]
    assert [f["phase"] for f in forwards] == ["encoder"] * Te + ["decoder"] * (len(forwards) - Te)
    backwards = [f for f in frames if f["type"] == "backward"]
    assert [f["t"] for f in backwards] == list(range(len(forwards) - 1, -1, -1))
    assert all(np.isfinite(f["dh_norm"]) for f in backwards)


def test_a_streamed_corpus_walks_on_and_carries_the_lstm_state() -> None:
    session = preset("text", cell="lstm", hidden_size=8, batch_size=2, seq_len=10)
    first = session.sequence().tokens
    session.finish_iteration()
    second = session.sequence().tokens
    assert first != second  # the cursor moved through the text
    assert session.state is not None and session.state.shape == (2, 16)  # [h, c]


def test_pasted_text_becomes_the_task_and_travels_in_exports() -> None:
    session = make()
    text = "to be or not to be, that is the question. " * 3
    hello = session.use_text(text)
    assert hello.config.task == "pasted"
    assert set("".join(hello.tokens)) <= set(text)
    state = orjson.loads(p.encode(session.export()))["state"]
    assert state["text"] == text
    again = make()
    again.import_state(p.SessionState.model_validate(state))
    assert wire(again.step_forward()) == wire(session.step_forward())
    with pytest.raises(CommandRefused) as refused:
        session.use_text("   ")
    assert refused.value.field == "text"
    with pytest.raises(CommandRefused) as refused:
        make().configure(p.RunConfig(task="pasted"))
    assert refused.value.field == "config.task"


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
    session = make()
    updates = [f for f in map(wire, session.finish_iteration()) if f["type"] == "update"]
    assert updates[0]["smooth_loss"] == pytest.approx(updates[0]["loss"])
    assert updates[0]["perplexity"] == pytest.approx(np.exp(updates[0]["loss"] / 4), rel=1e-6)
    second = next(f for f in map(wire, session.finish_iteration()) if f["type"] == "update")
    expected = 0.999 * updates[0]["loss"] + 0.001 * second["loss"]
    assert second["smooth_loss"] == pytest.approx(expected)


def test_set_hyper_changes_the_temperature_without_reset() -> None:
    session = make()
    session.train(3)
    session.set_hyper(p.SetHyper(type="set_hyper", temperature=0.5))
    assert session.config.temperature == 0.5 and session.iteration.number == 3
