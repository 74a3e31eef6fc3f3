"""Items and products keep names, hierarchy, prices and active state in step."""

from decimal import Decimal

from cloud_app.sync.items import item_from_product, product_from_item
from shared.qbxml.builder import add, build, mod


def test_item_becomes_a_product_with_its_full_path_and_price() -> None:
    ret = {"ListID": "80000005-1", "Name": "Framing", "FullName": "Labor:Framing", "IsActive": True,
           "SalesOrPurchase": {"Desc": "Framing labor, per hour", "Price": Decimal("55.50")}}
    p = product_from_item(ret, iblock_id=23)
    assert p.fields == {"iblockId": 23, "name": "Labor:Framing", "active": "Y", "xmlId": "QB:80000005-1",
                        "detailText": "Framing labor, per hour"}
    assert p.price == Decimal("55.50")
    inv = product_from_item({"ListID": "1", "FullName": "Tile", "IsActive": False,
                             "SalesPrice": Decimal("3.25")}, 23)
    assert inv.price == Decimal("3.25") and inv.fields["active"] == "N"


def test_product_becomes_an_item_quickbooks_accepts_with_parent_and_31_character_name() -> None:
    d = item_from_product({"name": "Materials:Premium ceramic floor tile, glazed", "active": "Y",
                           "detailText": "Glazed"}, Decimal("4.5"))
    assert d.fields["Name"] == "Premium ceramic floor tile,"  # cut on a word, within 31
    assert d.fields["ParentRef"] == {"FullName": "Materials"}
    assert d.notes
    assert "<Price>4.5</Price>" in build([add(d.entity, d.fields)]).xml


def test_a_known_item_is_modified_with_its_edit_sequence() -> None:
    d = item_from_product({"name": "Tile", "active": "N"}, Decimal("3"),
                          existing={"ListID": "8-1", "EditSequence": "171"})
    xml = build([mod(d.entity, d.fields)]).xml
    assert "<EditSequence>171</EditSequence>" in xml and "<IsActive>false</IsActive>" in xml
    assert "<SalesOrPurchaseMod><Price>3</Price></SalesOrPurchaseMod>" in xml
