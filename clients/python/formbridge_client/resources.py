"""The key-authenticated management API, one method per endpoint: submissions (with a page
iterator), destinations, sources, forms and schemas. Mixed into Client, which gives `_api`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote


def _q(value: str) -> str:
    return quote(value, safe="")


class ManagementApi:
    def _api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        raise NotImplementedError

    # --- submissions (scope read; erase and replay: admin) ---

    def list_submissions(self, **filters: Any) -> dict[str, Any]:
        """One page: `{"items": [...], "next_cursor": ...}`. Filters: limit, cursor, form_id,
        source, status, since, until."""
        return self._api("GET", "/v1/submissions", query=filters)

    def iter_submissions(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every submission the filters match, page after page."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.list_submissions(**filters, cursor=cursor)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get_submission(self, submission_id: str) -> dict[str, Any]:
        return self._api("GET", f"/v1/submissions/{_q(submission_id)}")

    def replay_submission(self, submission_id: str, **options: Any) -> dict[str, Any]:
        return self._api("POST", f"/v1/submissions/{_q(submission_id)}/replay", options)

    def erase_submission(self, submission_id: str) -> dict[str, Any]:
        return self._api("DELETE", f"/v1/submissions/{_q(submission_id)}")

    # --- destinations, sources, forms (scope admin) ---

    def list_destinations(self) -> list[dict[str, Any]]:
        return self._api("GET", "/v1/destinations")

    def get_destination(self, name: str) -> dict[str, Any]:
        return self._api("GET", f"/v1/destinations/{_q(name)}")

    def create_destination(self, **settings: Any) -> dict[str, Any]:
        return self._api("POST", "/v1/destinations", settings)

    def update_destination(self, name: str, **changes: Any) -> dict[str, Any]:
        return self._api("PATCH", f"/v1/destinations/{_q(name)}", changes)

    def delete_destination(self, name: str) -> Any:
        return self._api("DELETE", f"/v1/destinations/{_q(name)}")

    def test_destination(self, name: str) -> dict[str, Any]:
        return self._api("POST", f"/v1/destinations/{_q(name)}/test", {})

    def list_sources(self) -> list[dict[str, Any]]:
        return self._api("GET", "/v1/sources")

    def create_source(self, **settings: Any) -> dict[str, Any]:
        return self._api("POST", "/v1/sources", settings)

    def rotate_source_secret(self, name: str, **options: Any) -> dict[str, Any]:
        return self._api("POST", f"/v1/sources/{_q(name)}/rotate-secret", options)

    def delete_source(self, name: str) -> Any:
        return self._api("DELETE", f"/v1/sources/{_q(name)}")

    def list_forms(self) -> list[dict[str, Any]]:
        return self._api("GET", "/v1/forms")

    def create_form(self, **settings: Any) -> dict[str, Any]:
        return self._api("POST", "/v1/forms", settings)

    def update_form(self, form_id: str, **changes: Any) -> dict[str, Any]:
        return self._api("PATCH", f"/v1/forms/{_q(form_id)}", changes)

    def delete_form(self, form_id: str) -> Any:
        return self._api("DELETE", f"/v1/forms/{_q(form_id)}")

    # --- event types' schemas (scope admin) ---

    def set_event_schema(self, event_type: str, schema: dict[str, Any]) -> dict[str, Any]:
        return self._api("PUT", f"/v1/event-types/{_q(event_type)}/schema", schema)

    def get_event_schema(self, event_type: str) -> dict[str, Any]:
        return self._api("GET", f"/v1/event-types/{_q(event_type)}/schema")

    def delete_event_schema(self, event_type: str) -> Any:
        return self._api("DELETE", f"/v1/event-types/{_q(event_type)}/schema")
