"""batch: references, halt, per-key errors, PHP array quirks, the 50-command cap (contract §6, §12.7)."""

from __future__ import annotations

from .conftest import World


def test_references_errors_and_sections(world: World) -> None:
    body = world.call(
        "batch",
        {
            "halt": 0,
            "cmd": {
                "first": "crm.deal.list?order[ID]=ASC&select[]=ID&select[]=COMPANY_ID&start=-1",
                "company": "crm.company.get?id=$result[first][0][COMPANY_ID]",
                "missing": "crm.deal.get?id=999999",
                "rows": "crm.deal.list?select[]=ID",
            },
        },
        hook=True,
    )
    assert body.status_code == 200
    out = body.json()["result"]
    assert out["result"]["company"]["ID"] == out["result"]["first"][0]["COMPANY_ID"]
    assert out["result_error"] == {"missing": {"error": "", "error_description": "Not found"}}
    assert out["result_total"] == {"first": 0, "rows": 74}
    assert out["result_next"] == {"rows": 50}
    assert set(out["result_time"]) == {"first", "company", "rows"}


def test_halt_numeric_keys_and_empty_sections(world: World) -> None:
    halted = world.call(
        "batch", {"halt": 1, "cmd": {"a": "crm.deal.get?id=999999", "b": "user.current"}}, hook=True
    ).json()["result"]
    assert halted["result"] == [] and "b" not in str(halted["result_time"])
    numeric = world.call("batch", {"cmd": ["user.current", "crm.deal.get?id=1"]}, hook=True).json()["result"]
    assert isinstance(numeric["result"], list) and len(numeric["result"]) == 2
    assert numeric["result_error"] == [] and numeric["result_next"] == []


def test_more_than_50_commands_and_nested_batch(world: World) -> None:
    cmd = {f"k{i}": "user.current" for i in range(52)}
    cmd["nested"] = "batch?cmd[a]=user.current"
    out = world.call("batch", {"cmd": cmd}, hook=True).json()["result"]
    assert len(out["result"]) == 50
    assert out["result_error"]["k50"]["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    assert out["result_error"]["nested"]["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    small = world.call("batch", {"cmd": {"nested": "batch?cmd[a]=user.current"}}, hook=True).json()["result"]
    assert small["result_error"]["nested"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
