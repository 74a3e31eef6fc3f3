"""The cloud CLI reports its version and prints the schema it serves."""

import json

import pytest

from cloud_app.cli import main


def test_schema_command_prints_the_export(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["entity_count"] == 36


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("qb-cloud ")
