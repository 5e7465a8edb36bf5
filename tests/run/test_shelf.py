"""Uploaded files are read and checked once, summed up in a receipt, and kept on their session's
shelf a few at a time; every refusal names the field and, in a file, the line and column."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from app.inputs import InputError
from app.run.refusal import CommandRefused
from app.run.shelf import CsvFile, Shelf, TextFile, clean_name, read_upload, receipt
from app.tasks.base import UNK
from tests.run.uploadutil import (
    LIMITS,
    RHYME,
    VOCAB,
    model_upload,
    series_upload,
    text_upload,
    torch_files,
)


def test_a_text_file_reads_as_characters_or_words() -> None:
    chars = text_upload("char")
    assert chars.text == RHYME and chars.task.input_vocab == tuple(VOCAB)
    summary = receipt("id1", chars, len(RHYME)).model_dump()
    assert summary == {
        "id": "id1",
        "kind": "text",
        "name": "rhyme.txt",
        "bytes": len(RHYME),
        "text": {
            "level": "char",
            "tokens": len(RHYME),
            "vocab_size": len(VOCAB),
            "unknown": False,
            "heldout_tokens": len(RHYME) - int(len(RHYME) * 0.9),
        },
        "table": None,
        "model": None,
    }
    small = replace(LIMITS, max_vocab=5)
    words = read_upload("text", RHYME.encode(), "rhyme.txt", small, level="word")
    assert isinstance(words, TextFile)
    text = receipt("id2", words, len(RHYME)).text
    assert text is not None and (text.level, text.tokens, text.vocab_size) == ("word", 112, 5)
    assert text.unknown and UNK in words.task.input_vocab


def test_a_csv_file_is_summed_up_with_every_columns_normalisation() -> None:
    upload = series_upload()
    table = receipt("id", upload, 1000).table
    assert table is not None
    assert (table.rows, table.header, table.columns) == (60, True, ["day", "temperature", "rain"])
    assert (table.heldout_rows, table.max_seq_len) == (12, 11)
    values = upload.table.values[:48]
    for k, name in enumerate(table.columns):
        assert table.scaling[name].mean == values[:, k].mean()
        assert table.scaling[name].std == values[:, k].std()


@pytest.mark.parametrize(
    ("kind", "data", "field", "message", "line", "column"),
    [
        ("text", b"caf\xe9 au lait", "text", "is not UTF-8 text", 1, 4),
        ("text", b"too short", "text", "has 9 characters; at least 100 are needed", None, None),
        ("text", b"a" * 1_000_001, "text", "is 1000001 bytes; the limit is 1000000", None, None),
        ("csv", b"a,b\n1,2\n3,\n", "csv", "the 'b' cell is empty", 3, 2),
        ("csv", b"a,b\n1,2\n3,x\n", "csv", "'x' in column 'b' is not a number", 3, 2),
        ("csv", b"a,b\n1,2\n3\n", "csv", "has 1 cells; the first row has 2", 3, None),
        ("csv", b"a,b\n", "csv", "has a header but no rows of numbers", None, None),
        ("csv", b"", "csv", "is empty", None, None),
        ("csv", b"a\n" + b"1\n" * 100_001, "csv", "has more than 100000 rows", 100_002, None),
        (
            "sidecar",
            b'{"kind": "tokens",\n "vocab": [1]}',
            "sidecar.vocab[0]",
            "must be a string",
            None,
            None,
        ),
        ("sidecar", b'{"kind": "tokens",\n "vocab": [}', "sidecar", "is not valid JSON", 2, 12),
        (
            "weights",
            b"\x00" * 16,
            "sidecar",
            "is missing: upload the model's JSON sidecar first",
            None,
            None,
        ),
    ],
)
def test_every_refusal_names_the_field_and_where(
    kind: str, data: bytes, field: str, message: str, line: int | None, column: int | None
) -> None:
    with pytest.raises(InputError) as refused:
        read_upload(kind, data, "file", LIMITS, level="char")  # type: ignore[arg-type]
    error = refused.value
    assert (error.field, error.line, error.column) == (field, line, column)
    assert message in error.message


def test_a_bad_level_is_refused() -> None:
    with pytest.raises(InputError, match="must be char or word; got 'line'") as refused:
        read_upload("text", RHYME.encode(), "rhyme.txt", LIMITS, level="line")
    assert refused.value.field == "level"


def test_a_models_weights_are_read_with_its_sidecar() -> None:
    model = receipt("m", model_upload("nn.LSTM", "tokens", embedding=3, head=False), 10).model
    assert model is not None
    assert model.model_dump() == {
        "kind": "tokens",
        "inputs": VOCAB,
        "outputs": VOCAB,
        "module": "nn.LSTM",
        "hidden_size": 5,
        "embedding_size": 3,
        "has_head": False,
    }
    files = torch_files("nn.GRU", "features")
    side = read_upload("sidecar", files.sidecar, "model.json", LIMITS)
    sidecar = receipt("s", side, len(files.sidecar))
    assert sidecar.kind == "sidecar" and sidecar.model is not None
    assert (sidecar.model.inputs, sidecar.model.outputs) == (
        ["rain", "temperature"],
        ["temperature"],
    )
    assert sidecar.model.module is None


def test_a_weights_file_past_its_limit_is_refused() -> None:
    files = torch_files("nn.RNN")
    side = read_upload("sidecar", files.sidecar, "model.json", LIMITS)
    small = replace(LIMITS, max_weights_bytes=100)
    with pytest.raises(InputError, match=f"is {len(files.weights)} bytes; the limit is 100"):
        read_upload("weights", files.weights, "model.safetensors", small, sidecar=side)  # type: ignore[arg-type]


def test_names_are_cut_to_their_file_part() -> None:
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("C:\\Users\\ada\\weather.csv") == "weather.csv"
    assert clean_name("bad\x00name\n.txt") == "badname.txt"
    assert clean_name("") == "upload" and clean_name("/") == "upload"
    assert clean_name("x" * 300) == "x" * 100


def test_a_shelf_keeps_the_newest_uploads_and_says_which_id_is_missing() -> None:
    shelf = Shelf()
    first, second, third = (shelf.put(series_upload(), capacity=2) for _ in range(3))
    assert len({first, second, third}) == 3
    with pytest.raises(CommandRefused, match=f"no upload {first!r} here") as refused:
        shelf.take(first)
    assert (refused.value.code, refused.value.field) == ("out_of_range", "upload_id")
    assert isinstance(shelf.data_file(third), CsvFile)
    table = shelf.data_file(second)
    assert isinstance(table, CsvFile)
    assert shelf.nbytes == 2 * (table.table.values.nbytes + 36 * 60)
    shelf.drop(second)
    assert shelf.nbytes == table.table.values.nbytes + 36 * 60


def test_a_shelf_refuses_an_upload_of_the_wrong_kind() -> None:
    shelf = Shelf()
    data = shelf.put(text_upload(), 4)
    model = shelf.put(model_upload("nn.RNN"), 4)
    with pytest.raises(CommandRefused, match="upload_id must name a text or CSV file"):
        shelf.data_file(model)
    with pytest.raises(CommandRefused, match="model_id must name a model's weights") as refused:
        shelf.model_file(data)
    assert refused.value.field == "model_id"
    with pytest.raises(CommandRefused, match="sidecar must name a model's JSON sidecar"):
        shelf.sidecar_file(data)
    text, weights = shelf.data_file(data), shelf.model_file(model)
    assert isinstance(text, TextFile)
    held = sys.getsizeof(RHYME) * 2 + 8 * len(RHYME)  # the text as read and as walked, its ids
    assert shelf.nbytes == held + sum(v.nbytes for v in weights.model.params.values())


def test_a_csv_without_a_header_names_its_columns() -> None:
    rows = b"\n".join(f"{d},{d * d}".encode() for d in range(12))
    table = receipt("id", series_upload(rows), len(rows)).table
    assert table is not None and not table.header
    assert table.columns == ["column 1", "column 2"]
