"""Responses become typed records with their statuses; large ones stream; bad ones fail clearly."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from shared.qbxml.errors import ParseError
from shared.qbxml.parser import iter_headers, iter_records, parse_response
from shared.qbxml.values import Ref

PST = timezone(timedelta(hours=-8))

RESPONSE = """<?xml version="1.0" ?>
<QBXML>
<QBXMLMsgsRs newMessageSetID="set-7" messageSetStatusCode="0">
<CustomerQueryRs requestID="1" statusCode="0" statusSeverity="Info" statusMessage="Status OK"
    iteratorRemainingCount="40" iteratorID="{eb05f701-e727-472f-8ade-6753c4f67a46}">
<CustomerRet>
  <ListID>80000001-1234567890</ListID>
  <TimeCreated>2025-11-26T10:15:30-08:00</TimeCreated>
  <TimeModified>2026-03-08T03:01:02-07:00</TimeModified>
  <EditSequence>1234567890</EditSequence>
  <Name>Rock &amp; Roll &lt;Builders&gt;</Name>
  <FullName>Rock &amp; Roll &lt;Builders&gt;</FullName>
  <IsActive>true</IsActive>
  <Sublevel>0</Sublevel>
  <Phone>775-555-0100</Phone>
  <AdditionalContactRef><ContactName>Main Phone</ContactName><ContactValue>1</ContactValue>
  </AdditionalContactRef>
  <AdditionalContactRef><ContactName>Fax</ContactName><ContactValue>2</ContactValue></AdditionalContactRef>
  <TermsRef><ListID>20000-1</ListID><FullName>Net 30</FullName></TermsRef>
  <Balance>1043.50</Balance>
  <TotalBalance>-12.00</TotalBalance>
  <JobStartDate>2026-01-05</JobStartDate>
  <DataExtRet><OwnerID>0</OwnerID><DataExtName>B24 ID</DataExtName><DataExtType>STR255TYPE</DataExtType>
    <DataExtValue>C_17</DataExtValue></DataExtRet>
</CustomerRet>
</CustomerQueryRs>
<InvoiceAddRs requestID="2" statusCode="3140" statusSeverity="Error"
    statusMessage="There is an invalid reference to QuickBooks Item &quot;Tile&quot; in the Invoice line." />
<EmployeeQueryRs requestID="3" statusCode="1" statusSeverity="Info"
    statusMessage="A query request did not find a matching object in QuickBooks" />
</QBXMLMsgsRs>
</QBXML>
"""


def test_records_are_typed_and_statuses_kept_per_request() -> None:
    resp = parse_response(RESPONSE)
    assert resp.new_message_set_id == "set-7" and resp.message_set_status_code == 0
    customers, invoice, employees = resp.results
    assert customers.status.code == 0 and customers.request_id == "1"
    assert customers.header.iterator_remaining_count == 40 and customers.header.has_more
    (rec,) = customers.records
    assert rec["Name"] == "Rock & Roll <Builders>"
    assert rec["TimeCreated"] == datetime(2025, 11, 26, 10, 15, 30, tzinfo=PST)
    assert rec["TimeModified"].utcoffset() == timedelta(hours=-7)  # DST offset kept as given
    assert rec["IsActive"] is True and rec["Sublevel"] == 0
    assert rec["Balance"] == Decimal("1043.50") and isinstance(rec["Balance"], Decimal)
    assert rec["TotalBalance"] == Decimal("-12.00")
    assert rec["JobStartDate"] == date(2026, 1, 5)
    assert rec["TermsRef"] == Ref(list_id="20000-1", full_name="Net 30")
    assert [c["ContactName"] for c in rec["AdditionalContactRef"]] == ["Main Phone", "Fax"]
    assert rec["DataExtRet"] == [
        {"OwnerID": "0", "DataExtName": "B24 ID", "DataExtType": "STR255TYPE", "DataExtValue": "C_17"}
    ]
    assert "Phone" in rec and "ListID" in rec
    assert invoice.status.is_error and invoice.status.code == 3140 and '"Tile"' in invoice.status.message
    assert invoice.records == ()
    assert employees.status.code == 1 and employees.status.is_ok
    assert resp.by_request_id("2") is invoice


def test_repeating_elements_are_lists_even_when_there_is_one() -> None:
    doc = RESPONSE.replace(
        '<AdditionalContactRef><ContactName>Fax</ContactName><ContactValue>2</ContactValue></AdditionalContactRef>',
        "")
    (rec,) = parse_response(doc).results[0].records
    assert isinstance(rec["AdditionalContactRef"], list) and len(rec["AdditionalContactRef"]) == 1


def invoices(n: int, lines: int) -> bytes:
    line = ("<InvoiceLineRet><TxnLineID>{i}-{j}</TxnLineID><ItemRef><ListID>8-1</ListID><FullName>Labor"
            "</FullName></ItemRef><Desc>Work &amp; parts</Desc><Quantity>2</Quantity><Rate>55.5</Rate>"
            "<Amount>111.00</Amount></InvoiceLineRet>")
    head = (b'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><InvoiceQueryRs requestID="1" statusCode="0" '
            b'statusSeverity="Info" statusMessage="Status OK" iteratorRemainingCount="0" iteratorID="{x}">')
    parts = [head]
    for i in range(n):
        body = "".join(line.format(i=i, j=j) for j in range(lines))
        parts.append(
            (f"<InvoiceRet><TxnID>{i}-1</TxnID><TimeCreated>2026-01-01T00:00:00-08:00</TimeCreated>"
             f"<TimeModified>2026-01-01T00:00:00-08:00</TimeModified><EditSequence>1</EditSequence>"
             f"<TxnNumber>{i}</TxnNumber><CustomerRef><FullName>C{i}</FullName></CustomerRef>"
             f"<TxnDate>2026-01-01</TxnDate><RefNumber>{i}</RefNumber><Subtotal>555.00</Subtotal>"
             f"<BalanceRemaining>555.00</BalanceRemaining><IsPaid>false</IsPaid>{body}</InvoiceRet>").encode())
    parts.append(b"</InvoiceQueryRs></QBXMLMsgsRs></QBXML>")
    return b"".join(parts)


def test_records_stream_one_at_a_time_with_lines_as_lists() -> None:
    stream = iter_records(io.BytesIO(invoices(300, 5)))
    header, first = next(stream)
    assert header.name == "InvoiceQueryRs" and not header.has_more
    assert first["RefNumber"] == "0" and len(first["InvoiceLineRet"]) == 5
    assert first["InvoiceLineRet"][0]["Amount"] == Decimal("111.00")
    assert first["InvoiceLineRet"][0]["Desc"] == "Work & parts"
    assert first["IsPaid"] is False
    assert sum(1 for _ in stream) == 299


def test_headers_alone_can_be_read() -> None:
    assert [h.status.code for h in iter_headers(RESPONSE)] == [0, 3140, 1]


def test_a_response_declared_in_windows_1252_parses() -> None:
    doc = RESPONSE.replace('<?xml version="1.0" ?>', '<?xml version="1.0" encoding="windows-1252"?>')
    doc = doc.replace("<Phone>775-555-0100</Phone>", "<Phone>Caf\u00e9</Phone>")
    (rec,) = parse_response(doc.encode("cp1252")).results[0].records
    assert rec["Phone"] == "Caf\u00e9"


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ("<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode='0'></QBXMLMsgsRs></QBXML>", "malformed"),
        ("<html><body>502 Bad Gateway</body></html>", "not a qbXML document"),
        ("", "empty"),
        ("<QBXML><QBXMLMsgsRs><CustomerQueryRs statusCode='x' statusSeverity='Info'/></QBXMLMsgsRs></QBXML>",
         "statusCode"),
        (RESPONSE.replace("<Balance>1043.50</Balance>", "<Balance>lots</Balance>"), "Balance"),
    ],
)
def test_bad_documents_fail_with_a_clear_error(doc: str, match: str) -> None:
    with pytest.raises(ParseError, match=match):
        parse_response(doc)
