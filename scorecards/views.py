"""Scorecard pages: thin views over the selectors; they only read snapshots.

A department, pair or overview the viewer may not see answers 404, as if it did not exist
(see `selectors.scorecard_access`). Switching period, role or figure is a plain GET form;
with htmx the same view answers with the page body only. Table headings name figures by the
registry's labels (`figure_of` in the templates: scorecards.figures.FIGURE).
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.htmx import htmx_render
from core.periods import last_periods, quarter_containing
from departments.models import Department
from surveys.selectors import department_pulse, pulse_visible

from . import display
from .choices import ScoreRole
from .figures import FIGURE, anonymity_min, kept_rate_text
from .forms import FIGURE_LABELS, MatrixForm, PeriodForm, ScorecardForm
from .selectors import (
    ScorecardAccess,
    departments_with_visible_scorecards,
    league_get,
    matrix_get,
    pair_agreements_visible,
    pair_scorecards,
    scorecard_access,
    scorecard_history,
)

PROVIDER, CUSTOMER = ScoreRole.PROVIDER.value, ScoreRole.CUSTOMER.value
LEAGUE_TREND_LENGTH = 8


def _access(request) -> ScorecardAccess:
    access = getattr(request, "_scorecard_access", None)
    if access is None:
        access = request._scorecard_access = scorecard_access(user=request.user)
    return access


def _overview(request, form_class):
    """The pages over every department (matrix, league table): 404 for those who may not
    see them, else who asks, the period picker's form, and now."""
    access = _access(request)
    if not access.sees_overview:
        raise Http404("No such page.")
    now = timezone.now()
    return access, form_class(request.GET, now=now), now


def _department_or_404(slug: str) -> Department:
    department = Department.objects.filter(slug=slug).first()
    if department is None:
        raise Http404("No such department.")
    return department


# The whole page, or for htmx the body part the picker swaps.
_render = htmx_render


def _query(**params) -> str:
    query = urlencode({key: value for key, value in params.items() if value})
    return f"?{query}" if query else ""


def scorecard_url(department: Department, **params) -> str:
    return reverse("scorecards:department", args=[department.slug]) + _query(**params)


@login_required
@require_GET
def index(request):
    """To a visible department's scorecard: the one asked for, else the viewer's primary one."""
    visible = departments_with_visible_scorecards(request.user)
    wanted = request.GET.get("department")
    department = visible.filter(slug=wanted).first() if wanted else None
    if department is None:
        department = (
            visible.filter(memberships__user=request.user)
            .order_by("-memberships__is_primary", "name")
            .first()
            or visible.first()
        )
    if department is None:
        raise Http404("No scorecard to show.")
    return redirect(
        scorecard_url(department, period=request.GET.get("period"), role=request.GET.get("role"))
    )


@login_required
@require_GET
def department_scorecard(request, slug):
    """A department's figures as provider or customer: headline, trends, breakdowns."""
    access = _access(request)
    department = _department_or_404(slug)
    if not access.sees_department(department.pk):
        raise Http404("No such department.")
    now = timezone.now()
    form = ScorecardForm(request.GET, now=now)
    period = form.chosen_period()
    role = form.chosen_role(default=PROVIDER if department.is_provider else CUSTOMER)
    periods = last_periods(period, display.TREND_LENGTH)
    history = scorecard_history(department=department, role=role, periods=periods)
    runs = list(history.values())
    current, previous = history[period.key], history[period.previous().key]
    figures = current.figures

    blocked = figures.get("blocked_by_late_departments")
    caused = figures.get("caused_delay_departments")
    by_agreement = figures.get("by_agreement") if role == PROVIDER else None
    ids = display.department_ids_in(blocked, caused) | display.agreement_customer_ids(by_agreement)
    names = Department.objects.in_bulk(ids) if ids else {}
    services = display.service_rows(figures)
    others = (
        list(departments_with_visible_scorecards(request.user, access=access).only("name", "slug"))
        if access.sees_all or len(access.member_of) > 1
        else []
    )
    # The department's own health, beside its service figures: for its members and HR. Read
    # as released (compute_scores makes the releases that are due): the page computes nothing.
    pulse = (
        display.pulse_panel(
            department_pulse(
                department=department,
                last=quarter_containing(period.start),
                now=now,
                make_due=False,
            )
        )
        if pulse_visible(user=request.user, department=department)
        else None
    )
    context = {
        "department": department,
        "pulse": pulse,
        "anonymity_min": anonymity_min(),
        "role": role,
        "period": period,
        "previous": previous,
        "scorecard": current,
        "form": form,
        "picker": _picker(period, now),
        "cards": display.headline_cards(role=role, current=figures, previous=previous.figures),
        "dimensions": display.dimension_rows(figures),
        "chart_data": display.trend_data(runs),
        "trend_rows": display.trend_rows(runs),
        "service_rows": services,
        "priority_rows": display.priority_rows(figures),
        "worst_services": display.worst_services(services),
        "worst_min_sample": display.WORST_MIN_SAMPLE,
        "blocked_by": display.weakest_link_rows(blocked, names, access.sees_department),
        "blocked_seconds": display.hours(figures.get("blocked_by_late_seconds") or 0),
        "caused": display.weakest_link_rows(caused, names, access.sees_department),
        "caused_seconds": display.hours(figures.get("caused_delay_seconds") or 0),
        "agreement_rows": display.agreement_rows(
            by_agreement, provider=department, departments=names
        ),
        "kept_rate": kept_rate_text(),
        "reviews": display.review_panel(figures, linked=department.pk in access.member_of),
        "other_departments": others,
        "sees_matrix": access.sees_overview,
        "small_sample": display.SMALL_SAMPLE,
        "figure_of": FIGURE,
        "role_tabs": [
            {
                "label": f"As {label.lower()}",
                "url": scorecard_url(department, period=period.key, role=value),
                "current": value == role,
            }
            for value, label in ScoreRole.choices
        ],
    }
    return _render(
        request, "scorecards/scorecard.html", "scorecards/partials/scorecard_body.html", context
    )


def _picker(period, now) -> dict:
    return {
        "kinds": display.kind_choices(),
        "options": display.period_options(period, now),
    }


@login_required
@require_GET
def pair_scorecard(request, slug, customer_slug):
    """A provider x customer pair, both ways round and from both sides: each direction's
    results beside the targets of the agreements they were measured under (the terms for
    those who may see the agreements)."""
    access = _access(request)
    provider = _department_or_404(slug)
    customer = _department_or_404(customer_slug)
    if provider.pk == customer.pk or not access.sees_pair(provider.pk, customer.pk):
        raise Http404("No such pair.")
    now = timezone.now()
    form = PeriodForm(request.GET, now=now)
    period = form.chosen_period()
    previous_key = period.previous().key
    scorecards = pair_scorecards(
        provider=provider, customer=customer, periods=[period.previous(), period]
    )
    agreements = pair_agreements_visible(
        user=request.user,
        by_agreement_of={
            serving: scorecards[(PROVIDER, serving.slug, period.key)].figures.get("by_agreement")
            for serving in (provider, customer)
        },
    )
    directions = []
    for serving, served in ((provider, customer), (customer, provider)):
        provider_side = scorecards[(PROVIDER, serving.slug, period.key)]
        provider_before = scorecards[(PROVIDER, serving.slug, previous_key)]
        customer_side = scorecards[(CUSTOMER, served.slug, period.key)]
        customer_before = scorecards[(CUSTOMER, served.slug, previous_key)]
        cards = display.headline_cards(
            role=PROVIDER, current=provider_side.figures, previous=provider_before.figures
        )
        cards += [
            display.figure_card(figure, customer_side.figures, customer_before.figures)
            for figure in display.HEADLINE
            if figure.roles == (CUSTOMER,)
        ]
        directions.append(
            {
                "serving": serving,
                "served": served,
                "cards": cards,
                "has_data": provider_side.has_data or customer_side.has_data,
                "computed_at": provider_side.computed_at or customer_side.computed_at,
                "serving_visible": access.sees_department(serving.pk),
                "served_visible": access.sees_department(served.pk),
                "agreements": display.pair_agreement_sections(
                    provider_side.figures.get("by_agreement"),
                    serving=serving,
                    served=served,
                    agreements=agreements.get(serving.pk, {}),
                    now=now,
                ),
            }
        )
    context = {
        "provider": provider,
        "customer": customer,
        "period": period,
        "form": form,
        "picker": _picker(period, now),
        "directions": directions,
        "provider_visible": access.sees_department(provider.pk),
        "customer_visible": access.sees_department(customer.pk),
        "sees_matrix": access.sees_overview,
        "small_sample": display.SMALL_SAMPLE,
        "kept_rate": kept_rate_text(),
    }
    return _render(request, "scorecards/pair.html", "scorecards/partials/pair_body.html", context)


def _heat_class(value: float | None) -> str:
    """heat-0 (red) to heat-10 (green): CSS classes, so no inline styles are needed."""
    if value is None:
        return "heat-none"
    return f"heat-{round(max(0.0, min(1.0, value)) * 10)}"


@login_required
@require_GET
def matrix(request):
    """Providers x customers for one figure (timeliness, CSAT, on time under agreements),
    each visible cell marked with its pair's agreements; hidden and empty cells say why."""
    access, form, now = _overview(request, MatrixForm)
    period = form.chosen_period()
    figure = form.chosen_figure()
    grid = matrix_get(period=period, figure=figure, access=access)
    pair_query = _query(period=period.key)
    # One reverse() for the page's hundreds of pair links; the markers are valid slugs, so the
    # URL pattern accepts them, and are replaced by each pair's slugs.
    pair_url = reverse("scorecards:pair", args=["provider-marker", "customer-marker"])
    rows = []
    for provider, cells in zip(grid.providers, grid.rows, strict=True):
        row_url = pair_url.replace("/provider-marker/", f"/{provider.slug}/", 1)
        shown = [
            display.matrix_cell_html(
                provider=provider,
                cell=cell,
                heat=_heat_class(cell.value) if cell is not None else "",
                url=(
                    row_url.replace("/customer-marker/", f"/{cell.customer.slug}/", 1) + pair_query
                    if cell is not None and cell.reason != "not_visible"
                    else ""
                ),
            )
            for cell in cells
        ]
        rows.append({"provider": provider, "cells": shown})
    context = {
        "matrix": grid,
        "rows": rows,
        "period": period,
        "figure": figure,
        "figure_label": FIGURE_LABELS[figure],
        "figures": FIGURE_LABELS,
        "form": form,
        "picker": _picker(period, now),
        "anonymity_min": anonymity_min(),
        "kept_rate": kept_rate_text(),
        "small_sample": display.SMALL_SAMPLE,
        "sees_all": access.sees_all,
        "legend": [f"heat-{step}" for step in range(11)],
    }
    return _render(
        request, "scorecards/matrix.html", "scorecards/partials/matrix_body.html", context
    )


@login_required
@require_GET
def organisation(request):
    """The league table of provider departments by service score, with sparklines."""
    access, form, now = _overview(request, PeriodForm)
    period = form.chosen_period()
    league = league_get(period=period, length=LEAGUE_TREND_LENGTH)
    rows = [
        {
            "row": row,
            "score": display.format_value(display.SCORE, row.service_score),
            "timeliness": display.percent(row.timeliness),
            "small": row.timeliness_n is not None and row.timeliness_n < display.SMALL_SAMPLE,
            "sparkline": display.sparkline([score for _, score in row.trend]),
            "trend_text": ", ".join(
                f"{key}: {display.format_value(display.SCORE, score)}" for key, score in row.trend
            ),
            "moved": abs(row.rank_change) if row.rank_change is not None else None,
            "visible": access.sees_department(row.department.pk),
            "url": scorecard_url(row.department, period=period.key),
        }
        for row in league
    ]
    context = {
        "rows": rows,
        "period": period,
        "form": form,
        "picker": _picker(period, now),
        "trend_length": LEAGUE_TREND_LENGTH,
        "small_sample": display.SMALL_SAMPLE,
        "figure_of": FIGURE,
    }
    return _render(
        request,
        "scorecards/organisation.html",
        "scorecards/partials/organisation_body.html",
        context,
    )
