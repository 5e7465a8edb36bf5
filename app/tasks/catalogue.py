"""The lesson presets: each lesson's runs, with the results they are known to reach."""

from __future__ import annotations

from typing import Any

from app.tasks.preset import Expectation, Preset, make_preset


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
    flow = {
        0.5: Expectation("initial_flow_ratio", below=1e-4),
        1.0: Expectation("initial_flow_ratio", above=1e-2, below=10.0),
    }
    growth = {
        "tanh": Expectation("initial_flow_ratio", above=1e-3),  # saturation caps the growth
        "relu": Expectation("initial_flow_ratio", above=1e2),
        "linear": Expectation("initial_flow_ratio", above=1e3),  # 1.5^19 ~ 2200
    }
    unclipped = {
        "tanh": (Expectation("accuracy", below=0.35),),
        "relu": (Expectation("skipped", above=10),),
        "linear": (Expectation("skipped", above=10),),
    }
    clipped = {
        "tanh": (Expectation("accuracy", above=0.5),),
        "relu": (Expectation("skipped", below=0.5), Expectation("accuracy", above=0.9)),
        "linear": (Expectation("skipped", below=0.5), Expectation("accuracy", above=0.95)),
    }
    presets = []
    for activation in ("tanh", "relu", "linear"):
        seed = seeds[activation]
        for radius in (0.5, 1.0):
            fate = "die away" if radius < 1 else "hold roughly level"
            presets.append(
                make_preset(
                    f"gradients-{activation}-{radius}",
                    f"Gradient flow: {activation}, spectral radius {radius}",
                    "remember",
                    "gradients",
                    f"W_hh = {radius} I: watch ||dL_T/dh_k|| in the backward pass {fate}.",
                    1,
                    (flow[radius],),
                    activation=activation,
                    spectral_radius=radius,
                    seed=seed,
                    **common,
                )
            )
        presets.append(
            make_preset(
                f"gradients-{activation}-1.5",
                f"Exploding gradients: {activation}, spectral radius 1.5, no clipping",
                "remember",
                "gradients",
                "W_hh = 1.5 I and no clipping: the gradient grows as it flows back.",
                50,
                (growth[activation], *unclipped[activation]),
                activation=activation,
                spectral_radius=1.5,
                seed=seed,
                **common,
            )
        )
        presets.append(
            make_preset(
                f"gradients-{activation}-1.5-clipped",
                f"Exploding gradients tamed: {activation}, spectral radius 1.5, clipped",
                "remember",
                "gradients",
                "The same run with the gradient's global norm clipped to 1 (Pascanu et al. 2013).",
                50,
                (growth[activation], *clipped[activation]),
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
            "Three hidden units and four characters: read each W and h_t as it changes.",
            100,
            (Expectation("loss", below=0.15), Expectation("accuracy", above=0.99)),
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
            "min-char-rnn on a 26 KB public-domain reader; sample it at different temperatures.",
            600,
            (Expectation("loss", below=2.4),),
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
            "Word embeddings of size 8 feed the RNN; the pronoun depends on the subject.",
            500,
            (Expectation("loss", below=0.7), Expectation("pronoun_accuracy", above=0.95)),
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
            "Many-to-one: the loss counts only at each review's last word.",
            400,
            (Expectation("accuracy", above=0.7),),
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
            "Many-to-many with equal lengths: one tag per word, read left to right.",
            300,
            (Expectation("accuracy", above=0.97), Expectation("ambiguous_accuracy", above=0.95)),
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
            "One-to-many: one seed note in, fourteen notes out.",
            300,
            (Expectation("loss", below=0.05), Expectation("tune_accuracy", above=0.99)),
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
            "A GRU encoder reads the words, a GRU decoder writes the digits and <eos>.",
            600,
            (Expectation("loss", below=0.15), Expectation("exact_match", above=0.9)),
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
            "Regression: a linear head, squared error, predictions drawn against the truth.",
            300,
            (Expectation("mse", below=0.025),),
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
            "Two frequencies at once: the hidden state must track two phases.",
            400,
            (Expectation("mse", below=0.035),),
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
            "Ten steps between the markers and the answer: close enough for a vanilla RNN.",
            600,
            (Expectation("mse", below=0.05),),
            seq_len=10,
            learning_rate=0.02,
            seed=9,
        ),
        make_preset(
            "adding-rnn-long",
            "Adding problem, 40 steps: the vanilla RNN fails",
            "adding",
            "memory",
            "Forty steps: the vanilla RNN stays at the constant answer's error.",
            600,
            (Expectation("mse", above=0.12),),
            seq_len=40,
            seed=10,
        ),
        make_preset(
            "adding-gru-long",
            "Adding problem, 40 steps: a GRU succeeds",
            "adding",
            "memory",
            "The same 40 steps with a GRU: its update gate lets the marked values through.",
            600,
            (Expectation("mse", below=0.02),),
            cell="gru",
            seq_len=40,
            seed=10,
        ),
        make_preset(
            "remember-rnn-short",
            "Remember the first token, 8 distractors: the vanilla RNN copes",
            "remember",
            "memory",
            "seq_len 10: the first token, 8 distractors and the question mark.",
            400,
            (Expectation("accuracy", above=0.95),),
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
            "seq_len 150: the same network, the same budget, far fewer right answers.",
            600,
            (Expectation("accuracy", below=0.6),),
            seq_len=150,
            init_scale=0.5,
            learning_rate=0.02,
            seed=0,
        ),
        *gradient_presets(),
    ]
