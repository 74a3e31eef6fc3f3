"""Custom fields (public data extensions, ``OwnerID`` 0) as QuickBooks Desktop keeps them.

Intuit, *Data extensions: custom fields and private data* (developer.intuit.com/app/developer/qbdesktop/
docs/develop/tutorials/data-extensions-custom-fields-and-private-data):

* a custom field is defined only for customers, employees, items and vendors (``AssignToObject``);
  transactions inherit the customer's and item's, and take no others of their own;
* it "must be STR255 type, (string, max 255 chars)";
* "QuickBooks allows a fixed number of custom fields for customer, for item, for vendor, and for employee
  ... shared by the end user and all integrated solutions". Issue 25 gives Enterprise's: 30 in all, 12 per
  type; the code and text QuickBooks answers past them are UNCONFIRMED (here 3180, QuickBooks' own refusal);
* a definition is made with ``DataExtDefAdd`` or in QuickBooks' UI; values are written with
  ``DataExtAdd``/``DataExtMod``.

A record's values come back sorted by name, not in the order they were written — what users of QuickBooks
integrations report (issue 25); Intuit's pages do not say (UNCONFIRMED).
"""

from __future__ import annotations

from lxml import etree

from .company import Company

PUBLIC = "0"  # OwnerID of a custom field (a GUID owns private data)
PER_TYPE, IN_ALL = 12, 30  # Enterprise (issue 25)
NAME_TYPES = ("Customer", "Employee", "Item", "Vendor")
STRING_LIMITS = {"STR255TYPE": 255, "STR1024TYPE": 1024}


def assigned(company: Company, owner: str, name: str) -> list[str]:
    return company.data_ext_objects.get(f"{owner}|{name.casefold()}", [])


def room_for(company: Company, objects: list[str]) -> str | None:
    """Why QuickBooks would not take one more custom field for ``objects`` (None: it has room)."""
    public = [d for d in company.data_ext_defs if d[0] == PUBLIC]
    if len(public) >= IN_ALL:
        return f"QuickBooks already has {IN_ALL} custom fields, the most it keeps."
    for kind in objects:
        used = sum(1 for d in public if kind in assigned(company, PUBLIC, d[1]))
        if used >= PER_TYPE:
            return f"QuickBooks already has {PER_TYPE} custom fields for {kind.lower()}s, the most it keeps."
    return None


def def_ret(company: Company, parent: etree._Element, index: int) -> etree._Element:
    owner, name, kind = company.data_ext_defs[index]
    ret = etree.SubElement(parent, "DataExtDefRet")
    for tag, value in (("OwnerID", owner), ("DataExtID", str(index + 1)), ("DataExtName", name),
                       ("DataExtType", kind)):  # fmt: skip
        etree.SubElement(ret, tag).text = value
    for obj in assigned(company, owner, name):
        etree.SubElement(ret, "AssignToObject").text = obj
    for tag, value in (("DataExtListRequire", "false"), ("DataExtTxnRequire", "false")):
        etree.SubElement(ret, tag).text = value
    etree.SubElement(ret, "DataExtFormatString")
    return ret


def in_name_order(values: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """A record's values as QuickBooks returns them: by name (see the module's note)."""
    return sorted(values, key=lambda v: (v[0], v[1].casefold()))
