"""The compiled catalogue holds the facts the builder, parser and simulators rely on."""

from shared.qbxml.schema import Choice, Element, load, version_key

ENTITIES = {
    "Customer": ("Add", "Mod", "Query"),
    "Vendor": ("Add", "Mod", "Query"),
    "Employee": ("Add", "Mod", "Query"),
    "ItemInventory": ("Add", "Mod", "Query"),
    "ItemService": ("Add", "Mod", "Query"),
    "ItemNonInventory": ("Add", "Mod", "Query"),
    "ItemOtherCharge": ("Add", "Mod", "Query"),
    "ItemDiscount": ("Add", "Mod", "Query"),
    "ItemGroup": ("Add", "Mod", "Query"),
    "ItemSubtotal": ("Add", "Mod", "Query"),
    "ItemSalesTax": ("Add", "Mod", "Query"),
    "ItemSalesTaxGroup": ("Add", "Mod", "Query"),
    "Account": ("Add", "Mod", "Query"),
    "Class": ("Add", "Mod", "Query"),
    "StandardTerms": ("Add", "Query"),
    "DateDrivenTerms": ("Add", "Query"),
    "CustomerType": ("Add", "Query"),
    "VendorType": ("Add", "Query"),
    "JobType": ("Add", "Query"),
    "PaymentMethod": ("Add", "Query"),
    "ShipMethod": ("Add", "Query"),
    "SalesTaxCode": ("Add", "Mod", "Query"),
    "PriceLevel": ("Add", "Mod", "Query"),
    "SalesRep": ("Add", "Mod", "Query"),
    "Currency": ("Add", "Mod", "Query"),
    "InventorySite": ("Add", "Mod", "Query"),
    "UnitOfMeasureSet": ("Add", "Query"),
    "Invoice": ("Add", "Mod", "Query"),
    "Estimate": ("Add", "Mod", "Query"),
    "SalesOrder": ("Add", "Mod", "Query"),
    "PurchaseOrder": ("Add", "Mod", "Query"),
    "Bill": ("Add", "Mod", "Query"),
    "ReceivePayment": ("Add", "Mod", "Query"),
    "CreditMemo": ("Add", "Mod", "Query"),
    "TimeTracking": ("Add", "Mod", "Query"),
}


def test_every_entity_has_its_requests_and_responses() -> None:
    schema = load()
    for entity, ops in ENTITIES.items():
        for op in ops:
            assert schema.has_message(f"{entity}{op}Rq"), (entity, op)
            assert schema.has_message(f"{entity}{op}Rs"), (entity, op)
    for name in ("HostQueryRq", "CompanyQueryRq", "PreferencesQueryRq", "DataExtAddRq",
                 "DataExtDefAddRq", "ListDelRq", "TxnDelRq", "ListDeletedQueryRq",
                 "TxnDeletedQueryRq", "TermsQueryRq"):
        assert schema.has_message(name)


def test_customer_add_keeps_intuits_order_lengths_and_versions() -> None:
    add = load().message("CustomerAddRq").child("CustomerAdd")
    assert add is not None
    names = [e.name for e in add.child_elements()]
    assert names.index("Name") < names.index("IsActive") < names.index("CompanyName")
    name = add.child("Name")
    assert name is not None and name.max_length == 41 and not name.optional
    job_title = add.child("JobTitle")
    assert job_title is not None and job_title.since == "12.0"
    suffix = add.child("Suffix")  # QuickBooks Online only
    assert suffix is not None and not suffix.in_qbd
    contacts = add.child("Contacts")
    assert contacts is not None and contacts.repeats and contacts.optional


def test_query_filters_form_an_or_group_with_enum_defaults() -> None:
    query = load().message("CustomerQueryRq")
    group = query.children[0]
    assert isinstance(group, Choice) and group.optional
    first = [[e.name for e in alt if isinstance(e, Element)] for alt in group.alternatives]
    assert first[0] == ["ListID"] and first[1] == ["FullName"]
    assert first[2][:4] == ["MaxReturned", "ActiveStatus", "FromModifiedDate", "ToModifiedDate"]
    status = query.child("ActiveStatus")
    assert status is not None and status.default == "ActiveOnly" and "All" in status.enum
    iterator = {a.name: a for a in query.attributes}["iterator"]
    assert iterator.enum == ("Start", "Continue", "Stop")


def test_children_of_a_newer_aggregate_inherit_its_version() -> None:
    add = load().message("CustomerAddRq").child("CustomerAdd")
    assert add is not None
    class_ref = add.child("ClassRef")
    assert class_ref is not None and class_ref.is_ref
    assert all(version_key(c.since) >= (12, 0) for c in class_ref.child_elements())


def test_the_catalogue_exports_hundreds_of_entities() -> None:
    entities = load().entities()
    assert entities["Customer"] == ("Add", "Mod", "Query")
    assert len(entities) >= 100
