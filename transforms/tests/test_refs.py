"""References the target resolves: item and payment-method names, what is created."""

from map_quickbooks import refs
from map_quickbooks.rules import Settings


def test_item_named_with_a_colon_is_created_under_a_valid_name_with_the_title_kept(
    default_settings,
):
    ref = refs.item_ref("MUG-1", "Mug: Blue\tLarge", default_settings)
    assert ref["fallback"]["value"] == "Mug - Blue Large"
    assert ref["create"]["Name"] == "Mug - Blue Large"
    assert ref["create"]["Description"] == "Mug: Blue\tLarge"


def test_item_name_is_cut_to_100_characters_without_a_trailing_space(default_settings):
    title = "A" * 99 + " tail"
    ref = refs.item_ref(None, title, default_settings)
    assert ref["value"] == "A" * 99
    assert ref["create"]["Name"] == "A" * 99
    assert ref["create"]["Description"] == title


def test_valid_item_title_creates_no_description(default_settings):
    assert "Description" not in refs.item_ref("TEE", "Logo Tee", default_settings)["create"]


def test_mapped_payment_method_is_created_when_missing():
    settings = Settings.from_config({"payment_method_map": {"manual": "Bank Transfer"}})
    ref = refs.payment_method("manual", settings)
    assert ref == {
        "by": "name",
        "value": "Bank Transfer",
        "entity": "PaymentMethod",
        "on_missing": "create",
        "create": {"Name": "Bank Transfer"},
    }


def test_payment_method_names_are_valid_and_within_31_characters():
    settings = Settings.from_config({"payment_method_map": {"manual": "Wire: bank\ntransfer"}})
    assert refs.payment_method("manual", settings)["create"]["Name"] == "Wire - bank transfer"
    long_gateway = refs.payment_method("a_very_long_gateway_name_from_a_plugin", settings)
    assert long_gateway["value"] == "A Very Long Gateway Name From A"
    assert len(long_gateway["create"]["Name"]) <= 31


def test_service_item_named_in_a_setting_is_made_valid(default_settings):
    ref = refs.service_item("Shipping: Express", default_settings)
    assert ref["value"] == ref["create"]["Name"] == "Shipping - Express"
