"""The lesson presets: each lesson's runs, with the results they are known to reach."""

from __future__ import annotations

from typing import Any

from app.tasks.preset import Expectation, Preset, make_preset


def _fate(radius: float) -> tuple[str, Expectation]:
    """What r = 0.5 and r = 1.0 do to the gradient under any f: the note and its check."""
    if radius < 1:
        note = "W_hh = 0.5 I: in the backward pass ||dL_T/dh_k|| dies away, below 1e-4 by h_0."
        return note, Expectation("initial_flow_ratio", below=1e-4, claims=(0, 1))
    note = "W_hh = I: ||dL_T/dh_k|| holds roughly level, between 0.01 and 10 of its start at h_0."
    return note, Expectation("initial_flow_ratio", above=1e-2, below=10.0, claims=(0, 2))


# At r = 1.5, what each f does (the note, and what backs it), unclipped and then clipped.
EXPLODING: dict[str, tuple[str, str, tuple[Expectation, ...]]] = {
    "linear": (
        "Exploding gradients: linear, spectral radius 1.5, no clipping",
        "W_hh = 1.5 I, no clipping: the gradient grows as it flows back, above 1000 times its "
        "start at h_0.",
        (Expectation("initial_flow_ratio", above=1e3, claims=(0, 3)),),
    ),
    "relu": (
        "Exploding gradients: relu, spectral radius 1.5, no clipping",
        "W_hh = 1.5 I, no clipping: at seed 26 the gradient grows as it flows back, above 100 "
        "times its start at h_0.",
        (Expectation("initial_flow_ratio", above=1e2, claims=(0, 4)),),
    ),
    "tanh": (
        "σ_max > 1 is not enough: tanh, spectral radius 1.5, no clipping",
        "W_hh = 1.5 I, but tanh saturates: the last loss's gradient fades below 0.01 of its "
        "start on the way back, and reaches h_0 smaller than it started (below 1).",
        (
            Expectation("initial_flow_minimum", below=1e-2, claims=(0, 5)),
            Expectation("initial_flow_ratio", below=1.0, claims=(0, 5)),
        ),
    ),
}
UNCLIPPED = {
    "linear": (Expectation("skipped", above=10, claims=(6,)),),
    "relu": (Expectation("skipped", above=10, claims=(7,)),),
    "tanh": (
        Expectation("accuracy", below=0.35, claims=(8,)),
        Expectation("max_grad_norm", above=100, claims=(8,)),
    ),
}
CLIPPED = {  # (the title's start, the accuracy reached, the lesson's claim)
    "linear": ("Exploding gradients tamed", 0.95, 6),
    "relu": ("Exploding gradients tamed", 0.9, 7),
    "tanh": ("σ_max > 1 under tanh", 0.5, 8),
}


def _clipped(activation: str) -> tuple[str, str, tuple[Expectation, ...]]:
    """The r = 1.5 run with clipping: title, note and what backs them."""
    start, accuracy, claim = CLIPPED[activation]
    title = f"{start}: {activation}, spectral radius 1.5, clipped"
    note = (
        "The same run with the gradient's global norm clipped to 1 (Pascanu et al. 2013): "
        f"held-out accuracy above {accuracy:g}."
    )
    reached = Expectation("accuracy", above=accuracy, claims=(0, claim))
    if activation == "tanh":
        return title, note, (reached, Expectation("clipped", above=10, claims=(claim,)))
    growth = EXPLODING[activation][2][0].above  # the same start: the title says it explodes
    assert growth is not None
    note = note.replace("clipped to 1", f"exploding (above {growth:g} at h_0) but clipped to 1")
    kept = (Expectation("skipped", below=0.5, claims=(claim,)), reached)
    return title, note, (Expectation("initial_flow_ratio", above=growth), *kept)


def gradient_presets() -> list[Preset]:
    """Spectral radius 0.5, 1.0, 1.5 of W_hh under tanh, ReLU and linear; clipping at 1.5."""
    # W_hh starts as r * I (the IRNN of Le, Jaitly & Hinton 2015, rescaled), so every singular
    # value is r and the linear network's gradient shrinks or grows exactly as r^T.
    common: dict[str, Any] = {
        "seq_len": 20,
        "batch_size": 8,
        "init": "identity",
        "init_scale": 0.1,
        "optimizer": "sgd",
        "learning_rate": 0.1,
        "clip_mode": "none",
    }
    # ReLU's outcome depends on which units the draw leaves active; seed 26 shows the blow-up.
    seeds = {"tanh": 0, "relu": 26, "linear": 0}
    presets = []
    for activation in ("tanh", "relu", "linear"):
        seed = seeds[activation]
        for radius in (0.5, 1.0):
            note, expectation = _fate(radius)
            presets.append(
                make_preset(
                    f"gradients-{activation}-{radius}",
                    f"Gradient flow: {activation}, spectral radius {radius}",
                    "remember",
                    "gradients",
                    note,
                    1,
                    (expectation,),
                    activation=activation,
                    spectral_radius=radius,
                    seed=seed,
                    **common,
                )
            )
        title, note, shown = EXPLODING[activation]
        presets.append(
            make_preset(
                f"gradients-{activation}-1.5",
                title,
                "remember",
                "gradients",
                note,
                50,
                (*shown, *UNCLIPPED[activation]),
                activation=activation,
                spectral_radius=1.5,
                seed=seed,
                **common,
            )
        )
        title, note, shown = _clipped(activation)
        presets.append(
            make_preset(
                f"gradients-{activation}-1.5-clipped",
                title,
                "remember",
                "gradients",
                note,
                50,
                shown,
                activation=activation,
                spectral_radius=1.5,
                seed=seed,
                **{**common, "clip_mode": "norm", "clip_threshold": 1.0},
            )
        )
    return presets


def lesson_presets() -> list[Preset]:
    """Every preset, in lesson order."""
    return [
        make_preset(
            "hello",
            "hello: every number on a projector",
            "hello",
            "hello",
            "Three hidden units, four characters: every prediction right (accuracy above 0.99).",
            100,
            (
                Expectation("accuracy", above=0.99, claims=(0, 1)),
                Expectation("loss", below=0.15, claims=(1,)),
            ),
            hidden_size=3,
            seq_len=4,
            batch_size=1,
            init_scale=0.5,
            optimizer="adagrad",
            learning_rate=0.1,
            clip_mode="value",
            clip_threshold=5.0,
            seed=0,
        ),
        make_preset(
            "text",
            "Character language model: sonnets, rhymes and fables",
            "text",
            "text",
            "min-char-rnn on a 26 KB public-domain reader: held-out loss below 2.4 per character.",
            600,
            (Expectation("loss", below=2.4, claims=(0, 1)),),
            hidden_size=64,
            seq_len=25,
            batch_size=16,
            learning_rate=0.01,
            temperature=0.8,
            seed=1,
        ),
        make_preset(
            "words",
            "Next word: a girl walked into the bar and she ...",
            "words",
            "words",
            "Word embeddings of size 8 feed the RNN; the pronoun the subject fixes comes out right "
            "in above 0.95 of held-out sentences.",
            500,
            (
                Expectation("pronoun_accuracy", above=0.95, claims=(0, 1)),
                Expectation("loss", below=0.7, claims=(1,)),
            ),
            hidden_size=24,
            embedding_size=8,
            seq_len=10,
            learning_rate=0.02,
            seed=2,
        ),
        make_preset(
            "sentiment",
            "Sentiment: reading a review word by word",
            "sentiment",
            "sentiment",
            "Many-to-one: the loss counts only at each review's last word; held-out accuracy above "
            "0.7.",
            400,
            (Expectation("accuracy", above=0.7, claims=(0, 1)),),
            hidden_size=16,
            embedding_size=16,
            seq_len=12,
            learning_rate=0.01,
            seed=3,
        ),
        make_preset(
            "tagging",
            "Tagging: is 'fish' a noun or a verb?",
            "tagging",
            "tagging",
            "Many-to-many with equal lengths: one tag per word; held-out accuracy above 0.97.",
            300,
            (
                Expectation("accuracy", above=0.97, claims=(0, 1)),
                Expectation("ambiguous_accuracy", above=0.95, claims=(1,)),
            ),
            hidden_size=16,
            embedding_size=8,
            seq_len=10,
            learning_rate=0.02,
            seed=4,
        ),
        make_preset(
            "melody",
            "Generation: a tune from its first note",
            "melody",
            "melody",
            "One-to-many: one seed note in, fourteen notes out, every tune right (above 0.99).",
            300,
            (
                Expectation("tune_accuracy", above=0.99, claims=(0, 1)),
                Expectation("loss", below=0.05, claims=(1,)),
            ),
            hidden_size=16,
            seq_len=14,
            batch_size=14,
            learning_rate=0.02,
            seed=5,
        ),
        make_preset(
            "numbers",
            "Encoder-decoder: three hundred four -> 3 0 4",
            "numbers",
            "numbers",
            "A GRU encoder reads the words, a GRU decoder writes the digits and <eos>: above 0.9 "
            "of held-out numbers decode exactly.",
            600,
            (
                Expectation("exact_match", above=0.9, claims=(0, 1)),
                Expectation("loss", below=0.15, claims=(1,)),
            ),
            cell="gru",
            hidden_size=48,
            embedding_size=16,
            seq_len=4,
            learning_rate=0.01,
            seed=6,
        ),
        make_preset(
            "sine",
            "Forecasting a noisy sine wave",
            "sine",
            "series",
            "Regression: a linear head and squared error; held-out MSE below 0.025.",
            300,
            (Expectation("mse", below=0.025, claims=(0, 1)),),
            hidden_size=16,
            seq_len=40,
            batch_size=16,
            seed=7,
        ),
        make_preset(
            "sines",
            "Forecasting the sum of two sine waves",
            "sines",
            "series",
            "Two frequencies at once: h tracks two phases; held-out MSE below 0.035.",
            400,
            (Expectation("mse", below=0.035, claims=(0, 2)),),
            hidden_size=16,
            seq_len=40,
            batch_size=16,
            seed=8,
        ),
        make_preset(
            "adding-rnn-short",
            "Adding problem, 10 steps: the vanilla RNN copes",
            "adding",
            "memory",
            "Ten steps between the markers and the answer: held-out MSE below 0.05.",
            600,
            (Expectation("mse", below=0.05, claims=(0, 1)),),
            seq_len=10,
            learning_rate=0.02,
            seed=9,
        ),
        make_preset(
            "adding-rnn-long",
            "Adding problem, 40 steps: the vanilla RNN fails",
            "adding",
            "memory",
            "Forty steps: the last loss's gradient dies before h_0 (below 1e-10) and the held-out "
            "MSE stays above 0.12, near the constant answer's.",
            600,
            (
                Expectation("initial_flow_ratio", below=1e-10, claims=(0, 2)),
                Expectation("mse", above=0.12, claims=(0, 2)),
            ),
            seq_len=40,
            seed=10,
        ),
        make_preset(
            "adding-gru-long",
            "Adding problem, 40 steps: a GRU succeeds",
            "adding",
            "memory",
            "The same 40 steps with a GRU: held-out MSE below 0.02. Its gradient fades at first "
            "(below 1e-6 at h_0); training opens its update gate until above 0.01 reaches h_0.",
            600,
            (
                Expectation("mse", below=0.02, claims=(0, 3)),
                Expectation("initial_flow_ratio", below=1e-6, claims=(0, 3)),
                Expectation("final_flow_ratio", above=0.01, claims=(0, 3)),
            ),
            cell="gru",
            seq_len=40,
            seed=10,
        ),
        make_preset(
            "adding-lstm-long",
            "Adding problem, 40 steps: an LSTM's cell state carries the gradient",
            "adding",
            "memory",
            "The same sequences and seed with an LSTM whose forget gate starts near 1 (b_f = 3): "
            "all the way back, ||dL/dc_k|| stays within 100 times its start.",
            2000,
            (
                Expectation("initial_cell_spread", below=100, claims=(0, 4)),
                Expectation("mse", below=0.01, claims=(4,)),
            ),
            cell="lstm",
            forget_bias=3.0,
            seq_len=40,
            seed=10,
        ),
        make_preset(
            "remember-rnn-short",
            "Remember the first token, 8 distractors: the vanilla RNN copes",
            "remember",
            "memory",
            "seq_len 10: the first token, 8 distractors and the question mark; held-out accuracy "
            "above 0.95.",
            400,
            (Expectation("accuracy", above=0.95, claims=(0, 5)),),
            seq_len=10,
            init_scale=0.5,
            learning_rate=0.02,
            seed=0,
        ),
        make_preset(
            "remember-rnn-long",
            "Remember the first token, 148 distractors: the vanilla RNN falls short",
            "remember",
            "memory",
            "seq_len 150: the same network and budget stay below 0.6 held-out accuracy.",
            600,
            (Expectation("accuracy", below=0.6, claims=(0, 6)),),
            seq_len=150,
            init_scale=0.5,
            learning_rate=0.02,
            seed=0,
        ),
        *gradient_presets(),
    ]
