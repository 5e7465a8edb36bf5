"""Uploaded CSV files: a table of numbers, then a forecasting task on the chosen columns."""

from __future__ import annotations

import numpy as np
import pytest

from app.inputs import InputError
from app.run.training import train
from app.tasks.uploaded import read_table, series_task
from tests.tasks.test_uploaded_text import CONFIG


def weather(rows: int = 30) -> bytes:
    lines = ["day,temperature,rain"]
    lines += [f"{d},{10 + 5 * np.sin(d / 3):.3f},{(d * 7) % 5}" for d in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_a_header_names_the_columns_and_blank_lines_are_skipped() -> None:
    table = read_table(b"a;b\n\n1;2.5\n ; \n-3e-1;4\n")
    assert table.header and table.columns == ("a", "b")
    np.testing.assert_array_equal(table.values, [[1.0, 2.5], [-0.3, 4.0]])
    assert table.lines == (3, 5)


def test_without_a_header_columns_are_numbered_and_one_column_works() -> None:
    table = read_table(b"1\n2\n3\n")
    assert not table.header and table.columns == ("column 1",)
    np.testing.assert_array_equal(table.values[:, 0], [1.0, 2.0, 3.0])
    tabbed = read_table(b"1\t2\n3\t4\n")
    assert tabbed.columns == ("column 1", "column 2") and tabbed.rows == 2


@pytest.mark.parametrize(
    ("data", "kwargs", "message", "line", "column"),
    [
        (b"a,b\n1,2\n3,\n", {}, "the 'b' cell is empty: missing values", 3, 2),
        (b"1,,3\n", {}, "the 'column 2' cell is empty", 1, 2),
        (b"a,b\n1,2\n3,4\n5,n/a\n", {}, "'n/a' in column 'b' is not a number", 4, 2),
        (b"a,b\n1,2\n\n3,1.5.2\n", {}, "'1.5.2' in column 'b' is not a number", 4, 2),
        (b"a\n1\nnan\n", {}, "'nan' in column 'a' is not a finite number", 3, 1),
        (b"a\n1\n-inf\n", {}, "'-inf' in column 'a' is not a finite number", 3, 1),
        (b"a,b\n1,2\n3,4,5\n", {}, "has 3 cells; the first row has 2", 3, None),
        (b"a,a\n1,2\n", {}, "the column name 'a' is used twice", 1, 2),
        (b"a\n1\n2\n3\n", {"max_rows": 2}, "has more than 2 rows of data", 4, None),
        (b"a\n" + b"1\n" * 10, {"max_bytes": 20}, "is 22 bytes; the limit is 20", None, None),
        (b"\n \n", {}, "is empty", None, None),
        (b"a,b\n", {}, "has a header but no rows", None, None),
        (b"a\n1\n\xe92\n", {}, r"not UTF-8 text: byte 4 \(0xe9\)", 3, 1),
        (b'a,b\n1,"2\n3,4\n', {}, "a quote left open", 3, None),
    ],
)
def test_bad_csv_is_refused_naming_line_column_and_reason(
    data: bytes, kwargs: dict[str, int], message: str, line: int | None, column: int | None
) -> None:
    with pytest.raises(InputError, match=message) as info:
        read_table(data, **kwargs)
    assert (info.value.field, info.value.line, info.value.column) == ("csv", line, column)


def test_one_column_forecasts_its_own_next_value() -> None:
    values = np.arange(20.0) ** 2
    table = read_table("\n".join(f"{v:g}" for v in values).encode())
    task = series_task(table, 0)
    assert task.inputs == ("column 1",) and task.target == "column 1"
    assert task.split == 16 and task.max_seq_len == 3
    scale = task.scaling["column 1"]
    assert scale.mean == pytest.approx(values[:16].mean()) and scale.std == pytest.approx(
        values[:16].std()
    )
    np.testing.assert_allclose(task.denormalised(task.y), values, rtol=1e-15)
    batch = task.train_batch(np.random.default_rng(0), 5, 3)
    assert batch.inputs.shape == (3, 5, 1) and batch.targets.shape == (3, 5, 1)
    np.testing.assert_array_equal(batch.targets[:-1], batch.inputs[1:])  # next value is a target
    assert batch.targets.max() <= task.y[15]  # training windows never reach the held-out rows
    heldout = task.heldout_batch(1)
    np.testing.assert_array_equal(heldout.inputs[:, :, 0], task.y[[16, 17, 18]][None])
    np.testing.assert_array_equal(heldout.targets[:, :, 0], task.y[[17, 18, 19]][None])
    with pytest.raises(ValueError, match="seq_len 4 is longer than the uploaded series allows"):
        task.train_batch(np.random.default_rng(0), 5, 4)


def test_many_columns_by_name_or_index_with_training_only_normalisation() -> None:
    table = read_table(weather())
    task = series_task(table, "temperature", ["rain", 1])
    assert task.inputs == ("rain", "temperature") and task.info.input_size == 2
    assert task.split == 24 and task.info.output_size == 1
    for k, name in ((1, "temperature"), (2, "rain")):
        train_rows = table.values[:24, k]
        assert task.scaling[name].mean == train_rows.mean()
        assert task.scaling[name].std == train_rows.std()
        np.testing.assert_array_equal(
            task.normalised(name), (table.values[:, k] - train_rows.mean()) / train_rows.std()
        )
    batch = task.heldout_batch(2)
    metrics = task.score(batch, np.zeros_like(batch.targets))
    assert metrics["mse"] == metrics["zero_mse"] and "persistence_mse" in metrics
    assert "persistence_mse" not in series_task(table, "temperature", ["rain"]).score(
        batch, np.zeros_like(batch.targets)
    )
    result = train(task, {**CONFIG, "seq_len": 4, "batch_size": 3}, 3)
    assert len(result.report.losses) == 3 and all(np.isfinite(result.report.losses))
    heldout = result.evaluate()  # the held-out tail and the baselines, as a session asks
    assert {"mse", "zero_mse", "persistence_mse"} <= set(heldout)


def test_a_constant_column_is_only_centred() -> None:
    table = read_table(b"a,b\n" + b"".join(f"{i},7\n".encode() for i in range(12)))
    task = series_task(table, "a", ["b", "a"])
    assert task.scaling["b"].mean == 7.0 and task.scaling["b"].std == 1.0
    np.testing.assert_array_equal(task.X[:, 0], 0.0)


@pytest.mark.parametrize(
    ("target", "inputs", "field", "message"),
    [
        ("pressure", None, "target", "'pressure' is not a column; the columns are 'day'"),
        (3, None, "target", "3 is not a column"),
        (-1, None, "target", "-1 is not a column"),
        (True, None, "target", "True is not a column"),
        ("rain", ["day", "wind"], "inputs[1]", "'wind' is not a column"),
        ("rain", ["day", 0], "inputs[1]", "0 is chosen twice"),
    ],
)
def test_bad_column_choices_are_refused(
    target: str | int, inputs: list[str | int] | None, field: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as info:
        series_task(read_table(weather()), target, inputs)
    assert info.value.field == field


def test_too_few_rows_for_a_window_and_a_heldout_tail_are_refused() -> None:
    with pytest.raises(InputError, match="has 9 rows of data; at least 10") as info:
        series_task(read_table(weather(9)), "rain")
    assert info.value.field == "csv"
    assert series_task(read_table(weather(10)), "rain").max_seq_len == 1
