"""The scorecards API: one department's (or pair's) figures, the matrix, the league table.

Reads snapshots only. Bad parameters answer 400 with field errors; a department, pair or
overview the caller may not see answers 404, as on the pages.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from ..selectors import MATRIX_FIGURES, league_get, matrix_get, scorecard_access, scorecard_get
from .serializers import (
    LeagueSerializer,
    MatrixQuerySerializer,
    MatrixSerializer,
    PeriodQuerySerializer,
    ScorecardQuerySerializer,
    ScorecardSerializer,
    ScorecardSubjectSerializer,
)

LEAGUE_TREND_LENGTH = 8
PERIOD_PARAMETER = OpenApiParameter(
    "period",
    OpenApiTypes.STR,
    description="2026-Q3, 2026-09 or 2026-W38; default: the current quarter.",
)


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer


class ScorecardViewSet(viewsets.ViewSet):
    """Scorecards: HR sees every department; others the departments they belong to."""

    @extend_schema(
        parameters=[
            OpenApiParameter("department", OpenApiTypes.STR, required=True, description="slug"),
            OpenApiParameter(
                "role",
                OpenApiTypes.STR,
                enum=["provider", "customer"],
                description="default provider",
            ),
            PERIOD_PARAMETER,
            OpenApiParameter(
                "counterpart",
                OpenApiTypes.STR,
                description="slug of the other department, for a provider x customer pair",
            ),
        ],
        responses=ScorecardSerializer,
    )
    def list(self, request):
        """A department's figures for a period, as provider or customer, or for one pair.

        Every figure name is present; a figure without data or under the anonymity threshold
        is null. Before the first computation of the period, computed_at and every figure
        are null."""
        subject = _valid(ScorecardSubjectSerializer, request)
        department = subject.validated_data["department"]
        counterpart = subject.validated_data.get("counterpart")
        access = scorecard_access(user=request.user)
        visible = (
            access.sees_pair(department.pk, counterpart.pk)
            if counterpart
            else access.sees_department(department.pk)
        )
        if not visible:
            raise NotFound("No such scorecard.")
        query = _valid(ScorecardQuerySerializer, request)
        scorecard = scorecard_get(
            department=department,
            role=query.validated_data["role"],
            period=query.validated_period(),
            counterpart=counterpart,
        )
        return Response(ScorecardSerializer(scorecard).data)

    @extend_schema(
        parameters=[
            PERIOD_PARAMETER,
            OpenApiParameter(
                "figure",
                OpenApiTypes.STR,
                enum=[*MATRIX_FIGURES],  # not list(): the class body has its own `list`
                description=f"default {MATRIX_FIGURES[0]}",
            ),
        ],
        responses=MatrixSerializer,
    )
    @action(detail=False, methods=["get"])
    def matrix(self, request):
        """Providers x customers for one figure: HR sees every cell, a manager the row and
        column of the departments they manage (other cells hidden, without values). Each
        visible cell carries its pair's agreements measured in the period
        (agreements_n) and the share of them kept (agreements_kept)."""
        access = scorecard_access(user=request.user)
        if not access.sees_overview:
            raise NotFound("No such page.")
        query = _valid(MatrixQuerySerializer, request)
        grid = matrix_get(
            period=query.validated_period(),
            figure=query.validated_data["figure"],
            access=access,
        )
        data = {
            "period": grid.period,
            "figure": grid.figure,
            "providers": grid.providers,
            "customers": grid.customers,
            "rows": [
                {"provider": provider, "cells": [cell for cell in cells if cell is not None]}
                for provider, cells in zip(grid.providers, grid.rows, strict=True)
            ],
        }
        return Response(MatrixSerializer(data).data)

    @extend_schema(parameters=[PERIOD_PARAMETER], responses=LeagueSerializer)
    @action(detail=False, methods=["get"])
    def league(self, request):
        """Provider departments ranked by service score, with the last 8 periods' scores:
        HR and department managers."""
        access = scorecard_access(user=request.user)
        if not access.sees_overview:
            raise NotFound("No such page.")
        query = _valid(PeriodQuerySerializer, request)
        period = query.validated_period()
        rows = league_get(period=period, length=LEAGUE_TREND_LENGTH)
        data = {
            "period": period.key,
            "rows": [
                {
                    "rank": row.rank,
                    "previous_rank": row.previous_rank,
                    "rank_change": row.rank_change,
                    "department": row.department,
                    "service_score": row.service_score,
                    "timeliness": row.timeliness,
                    "timeliness_n": row.timeliness_n,
                    "trend": [{"period": key, "service_score": score} for key, score in row.trend],
                }
                for row in rows
            ],
        }
        return Response(LeagueSerializer(data).data)
