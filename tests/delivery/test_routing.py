from dataclasses import dataclass, field

from delivery.routing import filter_matches, route


@dataclass
class Dest:
    name: str
    filter: dict = field(default_factory=dict)
    enabled: bool = True


def names(destinations):
    return [d.name for d in destinations]


def test_empty_filter_matches_everything():
    assert filter_matches({}, form_id="a", source="b", event_type="c")


def test_every_named_field_must_match_one_pattern():
    rules = {"form_id": ["contact", "quote"], "event_type": "invoice.*"}

    assert filter_matches(rules, form_id="quote", source="x", event_type="invoice.paid")
    assert not filter_matches(rules, form_id="quote", source="x", event_type="customer.created")
    assert not filter_matches(rules, form_id="newsletter", source="x", event_type="invoice.paid")


def test_route_skips_disabled_and_honours_the_senders_list():
    destinations = [
        Dest("crm"),
        Dest("sheet"),
        Dest("off", enabled=False),
        Dest("quotes", {"form_id": ["quote"]}),
    ]

    assert names(
        route(destinations, form_id="contact", source="wp", event_type="", requested=None)
    ) == ["crm", "sheet"]
    assert names(
        route(
            destinations, form_id="quote", source="wp", event_type="", requested=["quotes", "off"]
        )
    ) == ["quotes"]
    assert route(destinations, form_id="x", source="wp", event_type="", requested=[]) == []
