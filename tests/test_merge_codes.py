"""Merge codes: dotted paths through Link fields, unknown codes, no evaluation, bounded work."""

from persona_threading.engine.merge_codes import (AS_WRITTEN, MAX_OUTPUT_CHARS, DocRef, render)


class DictResolver:
    """Documents as dicts, Links as a (doctype, field) -> target table: what a test needs."""

    def __init__(self, docs, links):
        self.docs, self.links, self.calls = docs, links, 0

    def has_field(self, doctype, field):
        self.calls += 1
        return field == "name" or any(field in doc for (dt, _), doc in self.docs.items() if dt == doctype)

    def value(self, doctype, name, field):
        return name if field == "name" else self.docs.get((doctype, name), {}).get(field)

    def link_doctype(self, doctype, field):
        return self.links.get((doctype, field))


DOCS = {
    ("Issue", "ISS-7"): {"subject": "Printer", "customer": "CUST-1", "project": "PROJ-A", "priority": None,
                         "description": "<b>urgent</b>"},
    ("Customer", "CUST-1"): {"customer_name": "Acme & Sons", "territory": "Europe"},
    ("Territory", "Europe"): {"territory_manager": "Eva"},
    ("Project", "PROJ-A"): {"project_name": "Printers 2026"},
}
LINKS = {("Issue", "customer"): "Customer", ("Issue", "project"): "Project",
         ("Customer", "territory"): "Territory"}
ROOTS = {"issue": DocRef("Issue", "ISS-7"), "conversation": {"subject": "Printer on floor 3"}}


def fill(template, **options):
    return render(template, ROOTS, DictResolver(DOCS, LINKS), **options)


def test_codes_follow_link_fields_several_levels():
    out = fill("Ticket {{ issue.name }} for {{issue.customer.customer_name}} in "
               "{{ issue.project.project_name }} ({{ conversation.subject }}), "
               "manager {{ issue.customer.territory.territory_manager }}")
    assert out.text == ("Ticket ISS-7 for Acme & Sons in Printers 2026 (Printer on floor 3),"
                        " manager Eva")
    assert out.unknown == [] and out.empty == []


def test_a_link_itself_renders_as_the_linked_name():
    assert fill("{{ issue.customer }}").text == "CUST-1"


def test_auto_replies_render_unknown_and_empty_codes_as_nothing_and_list_them():
    out = fill("Hi {{ issue.nope }}{{ issue.priority }}{{ customer.name }}{{ issue.customer.nope.deeper }}!")
    assert out.text == "Hi !"
    assert out.unknown == ["issue.nope", "customer.name", "issue.customer.nope.deeper"]
    assert out.empty == ["issue.priority"]


def test_snippets_leave_unknown_codes_visible_as_written():
    out = fill("Dear {{ issue.customer.contact_person }}, re {{ issue.name }}", unknown=AS_WRITTEN)
    assert out.text == "Dear {{ issue.customer.contact_person }}, re ISS-7"
    assert out.unknown == ["issue.customer.contact_person"]


def test_nothing_is_evaluated():
    hostile = ("{{ 7*7 }}{{ issue.__class__ }}{{ issue.name.__globals__ }}{{ ''.join('x') }}"
               "{% for x in y %}{{ issue['name'] }}")
    out = fill(hostile)
    assert out.text == "{% for x in y %}"
    assert "49" not in out.text and len(out.unknown) == 5


def test_html_option_escapes_values_not_the_template():
    out = fill("<p>{{ issue.customer.customer_name }}: {{ issue.description }}</p>", as_html=True)
    assert out.text == "<p>Acme &amp; Sons: &lt;b&gt;urgent&lt;/b&gt;</p>"


def test_depth_lookups_and_output_are_bounded():
    too_deep = "{{ issue." + ".".join(["customer"] * 10) + " }}"
    assert fill(too_deep).text == ""
    resolver = DictResolver(DOCS, LINKS)
    out = render("{{ issue.customer.territory.territory_manager }}" * 50_000, ROOTS, resolver)
    assert len(out.text) <= MAX_OUTPUT_CHARS and resolver.calls <= 10  # cached per field
    huge = render("x" * (MAX_OUTPUT_CHARS + 10), ROOTS, resolver)
    assert huge.truncated and len(huge.text) == MAX_OUTPUT_CHARS


def test_a_failing_resolver_renders_unknown_never_raises():
    class Broken(DictResolver):
        def value(self, doctype, name, field):
            raise RuntimeError("database gone")

    out = render("Hi {{ issue.customer.customer_name }}", ROOTS, Broken(DOCS, LINKS))
    assert out.text == "Hi " and out.unknown == ["issue.customer.customer_name"]
    assert render(None, ROOTS).text == ""  # a template field that was never filled


def test_a_field_reader_follows_links_as_render_does_for_another_renderer():
    from persona_threading.engine.merge_codes import MISSING, FieldReader

    reader = FieldReader(DictResolver(DOCS, LINKS))
    customer = reader.field(DocRef("Issue", "ISS-7"), "customer")
    assert customer == DocRef("Customer", "CUST-1")
    assert reader.field(customer, "customer_name") == "Acme & Sons"
    assert reader.field(DocRef("Issue", "ISS-7"), "nope") is MISSING
    assert reader.field(DocRef("Issue", "ISS-7"), "__class__") is MISSING
    assert reader.field(DocRef("Issue", "ISS-7"), "priority") is None
