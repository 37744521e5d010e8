"""The operators' dashboard (/admin/dashboard/): per tenant and day, from the daily tables."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from tenants.operators import operated_tenant_ids

from . import charts, selectors

PERIODS = (7, 14, 30, 90)


def dashboard(request: HttpRequest) -> TemplateResponse:
    user = request.user
    if not (user.is_superuser or user.has_perm("reporting.view_dailymetric")):
        raise PermissionDenied
    try:
        days = int(request.GET.get("days", 14))
    except ValueError:
        days = 14
    days = days if days in PERIODS else 14
    tenant_ids = operated_tenant_ids(user)
    chosen = request.GET.get("tenant") or None
    if chosen is not None and tenant_ids is not None and chosen not in tenant_ids:
        chosen = None  # not theirs: show what they may see
    figures = selectors.daily_figures(
        tenant_ids=tenant_ids, days=days, today=timezone.now().date(), tenant_id=chosen
    )
    tenants = []
    for tenant_id, rows in figures.items():
        labels = [row.day.isoformat() for row in rows]
        tenants.append(
            {
                "id": tenant_id,
                "rows": list(reversed(rows)),  # newest first in the table
                "totals": {
                    "submissions": sum(r.submissions for r in rows),
                    "succeeded": sum(r.succeeded for r in rows),
                    "retried": sum(r.retried for r in rows),
                    "dead": sum(r.dead for r in rows),
                },
                "charts": [
                    charts.bar_chart(labels, [r.submissions for r in rows], title="Submissions"),
                    charts.bar_chart(
                        labels,
                        [
                            None if r.success_rate is None else round(100 * r.success_rate, 1)
                            for r in rows
                        ],
                        title="Delivery success",
                        unit=" %",
                        ceiling=100,
                    ),
                    charts.bar_chart(labels, [r.dead for r in rows], title="Dead letters"),
                    charts.bar_chart(
                        labels,
                        [
                            None if r.latency_p95_ms is None else round(r.latency_p95_ms)
                            for r in rows
                        ],
                        title="Delivery latency p95",
                        unit=" ms",
                    ),
                ],
            }
        )
    context = {
        **admin.site.each_context(request),
        "title": "Dashboard",
        "tenants": tenants,
        "days": days,
        "periods": PERIODS,
        "chosen": chosen,
    }
    return TemplateResponse(request, "admin/formbridge/dashboard.html", context)
