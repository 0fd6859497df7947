"""Input and output of the scorecards API. The output serializers document the shape in the
schema, each figure's unit from the registry (`figures.FIGURES`); the figures themselves go
out as stored (see `figures.figures_shown`)."""

from django.utils import timezone
from rest_framework import serializers

from core.periods import QUARTER, parse_period, period_containing
from departments.models import Department

from ..choices import ScoreRole
from ..figures import (
    AGREEMENT_BREAKDOWN,
    FIGURE,
    FIGURE_NAMES,
    HIRE_BACK,
    RATE,
    RATING,
    REVIEW_FIGURES,
    SCORE,
    SECONDS,
)
from ..selectors import MATRIX_FIGURES

# The schema's word for each unit of the registry (scorecards.figures.UNITS), as stored.
UNIT_HELP = {
    RATE: "A rate from 0 to 1.",
    SECONDS: "Business seconds.",
    SCORE: "0 to 100.",
    RATING: "A mean rating from 1 to 5.",
    HIRE_BACK: "% yes - % no, from -100 to 100.",
}


class DepartmentSlugField(serializers.SlugField):
    """A department slug in, the Department out; an unknown slug is a field error."""

    def run_validation(self, data=serializers.empty):
        # The slug's validators check the text; run on the Department, they would check its
        # name (str()), and refuse every department whose name has a space.
        slug = super().run_validation(data)
        department = Department.objects.filter(slug=slug).first()
        if department is None:
            raise serializers.ValidationError(f"No department with the slug {slug!r}.")
        return department


class PeriodField(serializers.CharField):
    """`2026-Q3`, `2026-09` or `2026-W38`; missing: the current quarter."""

    def to_internal_value(self, data):
        key = super().to_internal_value(data)
        try:
            return parse_period(key)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class PeriodQuerySerializer(serializers.Serializer):
    period = PeriodField(
        required=False, help_text="2026-Q3, 2026-09 or 2026-W38; default: the current quarter."
    )

    def validated_period(self):
        return self.validated_data.get("period") or period_containing(timezone.now(), QUARTER)


class ScorecardSubjectSerializer(serializers.Serializer):
    """Whose scorecard: read first, so that who may see it is decided before the rest of the
    query is read."""

    department = DepartmentSlugField(help_text="The department's slug.")
    counterpart = DepartmentSlugField(
        required=False, help_text="The other department of a provider x customer pair."
    )

    def validate(self, data):
        counterpart = data.get("counterpart")
        if counterpart is not None and counterpart.pk == data["department"].pk:
            raise serializers.ValidationError(
                {"counterpart": "A pair needs two different departments."}
            )
        return data


class ScorecardQuerySerializer(ScorecardSubjectSerializer, PeriodQuerySerializer):
    role = serializers.ChoiceField(choices=ScoreRole.choices, default=ScoreRole.PROVIDER)


class MatrixQuerySerializer(PeriodQuerySerializer):
    figure = serializers.ChoiceField(choices=MATRIX_FIGURES, default=MATRIX_FIGURES[0])


def _figure_field(name: str) -> serializers.Field:
    if name.endswith("_n"):
        return serializers.IntegerField(allow_null=True, help_text="Sample size.")
    if name in REVIEW_FIGURES:
        return serializers.IntegerField(
            allow_null=True,
            help_text=f"{REVIEW_FIGURES[name]} (count; null: no review nor action counted).",
        )
    if name.endswith("_interval"):
        return serializers.ListField(
            child=serializers.FloatField(),
            min_length=2,
            max_length=2,
            allow_null=True,
            help_text="95% Wilson interval [low, high].",
        )
    if name.endswith("_departments"):
        return serializers.DictField(
            child=serializers.IntegerField(),
            allow_null=True,
            help_text="{department id: business seconds}.",
        )
    if name in ("by_service", "by_priority"):
        return serializers.DictField(
            child=serializers.DictField(),
            allow_null=True,
            help_text=(
                "{service id or priority: {name, timeliness, timeliness_n, timeliness_interval, "
                "first_response_timeliness(_n), resolution_timeliness(_n), "
                "resolution_median_seconds}}."
            ),
        )
    if name == AGREEMENT_BREAKDOWN:
        return serializers.DictField(
            child=serializers.DictField(),
            allow_null=True,
            help_text=(
                "The agreements clocks settled under in the period, keyed by the customer "
                "department's id or \"all\" (the provider's agreement with every customer): "
                "{customer (id or null), versions, kept, timeliness(_n, _interval), "
                "first_response_timeliness(_n, _interval), resolution_timeliness(_n, "
                "_interval)}; for a pair also by_version {version: {the same rates, targets: "
                '{"<service id or all>:<priority>": {first_response_timeliness(_n), '
                "resolution_timeliness(_n)}}}}."
            ),
        )
    return serializers.FloatField(allow_null=True, help_text=UNIT_HELP[FIGURE[name].unit])


class FiguresSerializer(serializers.Serializer):
    """Every known figure; null when there is no data or it is under the anonymity threshold.
    Figures added later appear too, under their own names."""

    def get_fields(self):
        return {name: _figure_field(name) for name in FIGURE_NAMES}

    def to_representation(self, instance):
        return dict(instance)


class ScorecardSerializer(serializers.Serializer):
    department = serializers.SlugField(source="department.slug")
    role = serializers.ChoiceField(choices=ScoreRole.choices)
    period = serializers.CharField()
    counterpart = serializers.SlugField(source="counterpart.slug", allow_null=True, default=None)
    computed_at = serializers.DateTimeField(allow_null=True)
    figures = FiguresSerializer()


class DepartmentRefSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    code = serializers.CharField()


class MatrixCellSerializer(serializers.Serializer):
    customer = serializers.SlugField(source="customer.slug")
    value = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField(allow_null=True)
    interval = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    hidden = serializers.BooleanField()
    reason = serializers.ChoiceField(
        choices=["not_visible", "anonymity", "no_data"],
        allow_null=True,
        help_text="Why there is no value.",
    )
    agreements_kept = serializers.FloatField(
        allow_null=True,
        help_text="Of the pair's agreements measured in the period, the share kept (null: "
        "none measured, or a cell the caller may not see).",
    )
    agreements_n = serializers.IntegerField(
        allow_null=True, help_text="How many of the pair's agreements were measured."
    )


class MatrixRowSerializer(serializers.Serializer):
    provider = serializers.SlugField(source="provider.slug")
    cells = MatrixCellSerializer(many=True)


class MatrixSerializer(serializers.Serializer):
    period = serializers.CharField()
    figure = serializers.ChoiceField(choices=MATRIX_FIGURES)
    providers = DepartmentRefSerializer(many=True)
    customers = DepartmentRefSerializer(many=True)
    rows = MatrixRowSerializer(many=True)


class TrendPointSerializer(serializers.Serializer):
    period = serializers.CharField()
    service_score = serializers.FloatField(allow_null=True)


class LeagueRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    previous_rank = serializers.IntegerField(allow_null=True)
    rank_change = serializers.IntegerField(allow_null=True, help_text="Places gained.")
    department = serializers.SlugField(source="department.slug")
    name = serializers.CharField(source="department.name")
    service_score = serializers.FloatField(allow_null=True)
    timeliness = serializers.FloatField(allow_null=True)
    timeliness_n = serializers.IntegerField(allow_null=True)
    trend = TrendPointSerializer(many=True)


class LeagueSerializer(serializers.Serializer):
    period = serializers.CharField()
    rows = LeagueRowSerializer(many=True)
