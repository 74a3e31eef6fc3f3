"""The schema export lists the product's entities with their operations and typed fields."""

import json

import pytest

from shared.qbxml.cli import main
from shared.qbxml.export import CORE_ENTITIES, schema_export


def test_export_covers_the_core_entities_with_hundreds_of_fields() -> None:
    doc = schema_export()
    assert doc["entity_count"] == len(CORE_ENTITIES) == 36
    assert doc["field_count"] > 700
    customer = {f["name"]: f for f in doc["entities"]["Customer"]["fields"]}
    assert customer["Name"] == {"name": "Name", "type": "STRTYPE", "required": True, "max_length": 41}
    assert customer["BillAddress.City"]["max_length"] == 31
    assert customer["TermsRef"]["type"] == "REF"
    assert "Suffix" not in customer  # QuickBooks Online only
    assert doc["entities"]["Invoice"]["operations"] == ["Add", "Mod", "Query"]


def test_cli_prints_json_and_refuses_unknown_entities(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "SalesRep"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["entities"]) == ["SalesRep"]
    assert main(["schema", "Frobnicator"]) == 2
    assert "Frobnicator" in capsys.readouterr().err
