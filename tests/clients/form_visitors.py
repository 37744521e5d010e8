"""A visitor submitting the real form plugins' forms as their pages do: it loads the page, reads
the form its plugin rendered (hidden fields, nonces, tokens), fills it in, and posts it where the
plugin's own script posts it: Contact Form 7's REST feedback endpoint, WPForms' and Fluent Forms'
admin-ajax actions, Formidable's plain form post."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx


@dataclass
class Lead:
    first: str
    last: str
    email: str
    interests: list[str] = field(default_factory=list)
    message: str = ""
    file: tuple[str, bytes] | None = None  # a file for the form's upload field, if it has one

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Control:
    tag: str
    type: str
    name: str
    value: str
    id: str


class FormReader(HTMLParser):
    """The first <form> of a page (whose action ends with `action`, if given): its attributes
    and its named controls, in order."""

    def __init__(self, action: str = "") -> None:
        super().__init__()
        self.action = action
        self.form: dict[str, str] | None = None
        self.controls: list[Control] = []
        self._inside = False
        self._done = False
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done and self.form is None:
            if attributes.get("action", "").endswith(self.action):
                self.form, self._inside = attributes, True
        elif self._inside and tag in ("input", "select", "button") and attributes.get("name"):
            self.controls.append(
                Control(tag, attributes.get("type", "text"), attributes["name"],
                        attributes.get("value", ""), attributes.get("id", ""))
            )  # fmt: skip
        elif self._inside and tag == "textarea" and attributes.get("name"):
            self._textarea = attributes

    def handle_endtag(self, tag):
        if tag == "form" and self._inside:
            self._inside, self._done = False, True
        elif tag == "textarea" and self._textarea is not None:
            attributes, self._textarea = self._textarea, None
            self.controls.append(
                Control("textarea", "textarea", attributes["name"], "", attributes.get("id", ""))
            )


@dataclass
class Submitted:
    status: int
    body: str
    seconds: float

    def json(self):
        return json.loads(self.body)


class Visitor:
    """One browser: its cookies, the page it loaded, the form it filled."""

    def __init__(self, home: str, timeout: float = 60) -> None:
        self.home = home
        self.http = httpx.Client(timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self.http.close()

    def read_form(self, page: str, action: str = "") -> FormReader:
        response = self.http.get(page)
        assert response.status_code == 200, (page, response.status_code)
        reader = FormReader(action)
        reader.feed(response.text)
        assert reader.form is not None, f"no form on {page}: {response.text[:500]}"
        return reader

    def submit(self, plugin: str, page: str, lead: Lead, form: str = "") -> Submitted:
        reader = self.read_form(page)
        fields = [(c.name, c.value) for c in reader.controls if c.type in ("hidden",)]
        post = getattr(self, f"_{plugin}")
        self.http.headers["Referer"] = page  # as a browser sends it, from the form's page
        return post(reader, fields, lead, page, form)

    def _timed(self, method, url, **kwargs) -> Submitted:
        started = time.perf_counter()
        response = self.http.request(method, url, **kwargs)
        return Submitted(response.status_code, response.text, time.perf_counter() - started)

    # Contact Form 7's script posts the form's FormData to its REST feedback endpoint.
    def _cf7(self, reader, fields, lead, page, form) -> Submitted:
        fields += [("your-name", lead.name), ("your-email", lead.email)]
        fields += [("interests[]", choice) for choice in lead.interests]
        fields += [("your-message", lead.message)]
        url = f"{self.home}/index.php?rest_route=/contact-form-7/v1/contact-forms/{form}/feedback"
        parts = _multipart(fields)
        if lead.file:
            parts.append(("your-file", (lead.file[0], lead.file[1], "application/pdf")))
        return self._timed("POST", url, files=parts)

    # WPForms' script posts the form's FormData to admin-ajax.php, with its token and timestamps.
    def _wpforms(self, reader, fields, lead, page, form) -> Submitted:
        by_suffix = {
            "[1][first]": lead.first, "[1][last]": lead.last, "[2]": lead.email,
            "[4]": lead.message,
        }  # fmt: skip
        for control in reader.controls:
            for suffix, value in by_suffix.items():
                if control.name == f"wpforms[fields]{suffix}":
                    fields.append((control.name, value))
        fields += [("wpforms[fields][3][]", choice) for choice in lead.interests]
        fields += [("wpforms[submit]", "wpforms-submit")]
        fields += [("wpforms[token]", reader.form["data-token"])]  # what its script adds
        now = int(time.time() * 1000)
        fields += [("action", "wpforms_submit"), ("start_timestamp", str(now - 4000))]
        fields += [("end_timestamp", str(now))]
        return self._timed("POST", f"{self.home}/wp-admin/admin-ajax.php", files=_multipart(fields))

    # Formidable's form posts to its own page (no AJAX unless the form asks for it).
    def _formidable(self, reader, fields, lead, page, form) -> Submitted:
        by_id = {"field_name": lead.name, "field_email": lead.email, "field_message": lead.message}
        for control in reader.controls:
            if control.type == "checkbox":
                if control.value in lead.interests:
                    fields.append((control.name, control.value))
            elif control.type != "hidden" and control.name.startswith("item_meta"):
                # A field it does not know is the honeypot, left empty as a person leaves it.
                fields.append((control.name, by_id.get(control.id, "")))
        return self._timed("POST", page, files=_multipart(fields))

    # Fluent Forms' script posts the serialized form as `data` to admin-ajax.php.
    def _fluentforms(self, reader, fields, lead, page, form) -> Submitted:
        fields += [
            ("names[first_name]", lead.first), ("names[last_name]", lead.last),
            ("email", lead.email), ("subject", "Interests: " + ", ".join(lead.interests)),
            ("message", lead.message),
        ]  # fmt: skip
        body = {
            "data": str(httpx.QueryParams(fields)),
            "action": "fluentform_submit",
            "form_id": reader.form["data-form_id"],
        }
        return self._timed("POST", f"{self.home}/wp-admin/admin-ajax.php", data=body)


def _multipart(fields: list[tuple[str, str]]) -> list[tuple[str, tuple]]:
    """Fields as a browser's FormData sends them: multipart/form-data, no file parts."""
    return [(name, (None, value)) for name, value in fields]


def accepted(plugin: str, answer: Submitted) -> bool:
    """Whether the page would show the visitor success."""
    if plugin == "cf7":
        return answer.status == 200 and answer.json().get("status") in ("mail_sent", "mail_failed")
    if plugin == "wpforms":
        return answer.status == 200 and answer.json().get("success") is True
    if plugin == "fluentforms":
        return answer.status == 200 and "insert_id" in answer.json().get("data", {})
    if plugin == "formidable":
        return answer.status == 200 and bool(
            re.search(r"frm_message|successfully submitted", answer.body)
        )
    raise ValueError(plugin)
