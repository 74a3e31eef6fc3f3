"""Bitrix24 companies and contacts become QuickBooks customers QuickBooks will accept."""

from cloud_app.sync.customers import from_company, from_contact
from shared.qbxml.builder import add, build
from shared.qbxml.parser import parse_response

COMPANY = {
    "ID": "4", "TITLE": "Sierra Nevada Residential Construction Services & Sons",
    "PHONE": [{"ID": "1", "VALUE_TYPE": "FAX", "VALUE": "775-555-0101"},
              {"ID": "2", "VALUE_TYPE": "MOBILE", "VALUE": "775-555-0199"},
              {"ID": "3", "VALUE_TYPE": "WORK", "VALUE": "775-555-0100"}],
    "EMAIL": [{"ID": "5", "VALUE_TYPE": "WORK", "VALUE": "office@sierra.example"}],
}  # fmt: skip
ADDRESSES = [
    {"TYPE_ID": "11", "ADDRESS_1": "Yard 7", "CITY": "Sparks", "PROVINCE": "NV", "POSTAL_CODE": "89431"},
    {"TYPE_ID": "6", "ADDRESS_1": "1 Main St", "ADDRESS_2": "Suite 200", "CITY": "Reno", "REGION": "NV",
     "POSTAL_CODE": "89501", "COUNTRY": "USA"},
]


def test_company_becomes_a_customer_with_contact_phones_and_addresses() -> None:
    draft = from_company(COMPANY, addresses=ADDRESSES, primary_contact={"NAME": "Anna", "LAST_NAME": "Ruiz"})
    f = draft.fields
    assert f["Name"] == f["CompanyName"] == "Sierra Nevada Residential Construction"
    assert any("41" in n for n in draft.notes)
    assert (f["Phone"], f["AltPhone"], f["Fax"]) == ("775-555-0100", "775-555-0199", "775-555-0101")
    assert f["Email"] == "office@sierra.example"
    assert f["Contact"] == "Anna Ruiz" and f["FirstName"] == "Anna"
    assert f["BillAddress"] == {"Addr1": "1 Main St", "Addr2": "Suite 200", "City": "Reno", "State": "NV",
                                "PostalCode": "89501", "Country": "USA"}
    assert f["ShipAddress"]["City"] == "Sparks"
    built = build([add("Customer", f)])  # QuickBooks would accept it
    assert "<CompanyName>Sierra Nevada Residential Construction</CompanyName>" in built.xml


def test_cyrillic_contact_is_transliterated_and_named_last_first() -> None:
    draft = from_contact({"NAME": "Иван", "LAST_NAME": "Петров", "POST": "Прораб"}, version="13.0")
    assert draft.fields["Name"] == "Petrov, Ivan"
    assert draft.fields["JobTitle"] == "Prorab"
    assert any("transliterated" in n for n in draft.notes)
    resp = "<QBXML><QBXMLMsgsRs><CustomerAddRs statusCode='0' statusSeverity='Info'><CustomerRet>" + \
        build([add("Customer", draft.fields)]).xml.split("<CustomerAdd>")[1].split("</CustomerAdd>")[0] + \
        "</CustomerRet></CustomerAddRs></QBXMLMsgsRs></QBXML>"
    assert parse_response(resp).results[0].records[0]["LastName"] == "Petrov"


def test_older_quickbooks_gets_no_job_title_and_a_nameless_contact_is_flagged() -> None:
    assert "JobTitle" not in from_contact({"NAME": "A", "POST": "Boss"}, version="11.0").fields
    draft = from_contact({"NAME": "", "LAST_NAME": ""})
    assert "Name" not in draft.fields and "no first or last name" in draft.notes[-1]
