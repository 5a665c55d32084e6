"""What parse costs does not grow with what a row could hold: a regression guard that times
nothing (the machine is shared), checking the work instead."""

import polars as pl
import pytest

from helpers import AS_OF_DATE, GOOD_ROW, text_batch
from pipeline.columns import map_columns
from pipeline.parse import custom_fields, parse
from pipeline.reference import parse_reference

FIELDS = [f"field_{n}" for n in range(6)]
REFERENCE = parse_reference(
    'currencies = ["USD"]\nbusiness_models = ["Hosted IP PBX"]\n'
    '[[customer_classes]]\nname = "Retail"\n'
    '[[customer_classes]]\nname = "Business"\n'
    + "".join(
        f'[[customer_classes.custom_fields]]\nname = "{f}"\nmandatory = {str(n % 2 == 0).lower()}\n'
        for n, f in enumerate(FIELDS)
    )
)


def custom_frame(rows: int = 100) -> pl.DataFrame:
    headers = (*GOOD_ROW, *FIELDS)
    row = {**GOOD_ROW, "customer_class": "Business", **{f: f"v {f}" for f in FIELDS}}
    return text_batch([row] * rows, headers)


def test_parse_builds_no_list_per_row_for_custom_data(monkeypatch):
    """Custom data is a MAP that DuckDB builds as it inserts; a list of pairs per row built in
    polars (concat_list and list.eval) took 0.9 s per 250,000 rows, ten times the rest of parse."""

    def refused(*args, **kwargs):
        raise AssertionError("a list built per row in parse")

    monkeypatch.setattr(pl, "concat_list", refused)
    monkeypatch.setattr(pl.expr.list.ExprListNameSpace, "eval", refused)
    frame = custom_frame()
    columns = map_columns("batch.csv", frame.columns[:-1], REFERENCE.custom_field_names)
    typed = parse(frame, columns, REFERENCE, AS_OF_DATE)
    assert typed.select(FIELDS).row(0) == tuple(f"v {f}" for f in FIELDS)
    assert not any(isinstance(t, pl.List) for t in typed.schema.values())


@pytest.mark.parametrize("classes", [10, 2_000])
def test_parse_makes_columns_for_the_fields_a_batch_uses_only(classes):
    """A reference of many classes, each with its own field: a batch naming one class gets one
    custom column, however many fields the reference has."""
    text = 'currencies = ["USD"]\nbusiness_models = ["Hosted IP PBX"]\n' + "".join(
        f'[[customer_classes]]\nname = "C{n}"\n'
        f'[[customer_classes.custom_fields]]\nname = "f{n}"\nmandatory = true\n'
        for n in range(classes)
    )
    reference = parse_reference(text)
    frame = text_batch([{**GOOD_ROW, "customer_class": "C1"}], tuple(GOOD_ROW))
    columns = map_columns("batch.csv", frame.columns[:-1], reference.custom_field_names)
    typed = parse(frame, columns, reference, AS_OF_DATE)
    assert custom_fields(typed) == ["f1"]
