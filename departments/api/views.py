import datetime

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.parsers import JSONDepthSafeParser

from .. import agreements as agreement_rules
from .. import escalation as escalation_rules
from .. import services
from ..filtersets import AgreementFilterSet, DepartmentFilterSet, ServiceFilterSet
from ..models import Agreement, EscalationLevel
from ..selectors import (
    agreements_visible_to,
    department_list,
    memberships_of,
    service_list,
)
from ..targets import target_candidates_by_provider
from .serializers import (
    AgreementDecisionSerializer,
    AgreementPartiesSerializer,
    AgreementProposeSerializer,
    AgreementSerializer,
    DepartmentSerializer,
    EscalationLevelsInputSerializer,
    EscalationLevelsSerializer,
    ServiceSerializer,
    level_inputs,
)


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Departments of the company (every signed-in user may see the directory)."""

    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilterSet
    ordering_fields = ["name", "code"]
    lookup_field = "slug"

    def get_queryset(self):
        return department_list()

    def _levels_response(self, department) -> Response:
        levels = list(
            EscalationLevel.objects.filter(department=department, agreement__isnull=True)
            .select_related("assign_to")
            .order_by("number")
        )
        data = {
            "department": department.slug,
            "default": not levels,
            "can_edit": escalation_rules.edits_levels(self.request.user, department),
            "levels": levels,
        }
        return Response(EscalationLevelsSerializer(data).data)

    @extend_schema(responses=EscalationLevelsSerializer)
    @action(
        detail=True,
        methods=["get"],
        url_path="escalation-levels",
        parser_classes=[JSONDepthSafeParser],
    )
    def escalation_levels(self, request, slug=None):
        """The department's own escalation levels, in order (its members and HR; others
        403). An agreement's levels are on the agreement."""
        department = self.get_object()
        if not escalation_rules.sees_levels(request.user, department):
            raise PermissionDenied("Only the department's members see its escalation levels.")
        return self._levels_response(department)

    @extend_schema(request=EscalationLevelsInputSerializer, responses=EscalationLevelsSerializer)
    @escalation_levels.mapping.post
    def escalation_levels_replace(self, request, slug=None):
        """Replace the department's levels with the given set, in order (its managers).
        Running clocks keep the levels they started with."""
        department = self.get_object()
        # Who may is decided before the input is read.
        if not escalation_rules.edits_levels(request.user, department):
            raise PermissionDenied(escalation_rules.EDIT_REFUSAL)
        data = EscalationLevelsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.escalation_levels_set(
            actor=request.user,
            department=department,
            levels=level_inputs(data.validated_data["levels"]),
        )
        return self._levels_response(department)


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    """The service catalog of every provider, with effective SLA targets."""

    serializer_class = ServiceSerializer
    filterset_class = ServiceFilterSet
    ordering_fields = ["name", "department__name"]

    def get_queryset(self):
        return service_list()

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "now": timezone.now(),
            "target_candidates": self._candidates,
        }

    def list(self, request, *args, **kwargs):
        """A page of services; the targets of all its providers read in two queries."""
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        services_ = list(page if page is not None else queryset)
        self._candidates_read({service.department_id for service in services_})
        data = self.get_serializer(services_, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def _candidates_read(self, provider_ids) -> None:
        # The caller's primary department is the customer. A provider's own people get what
        # every customer gets: no agreement has the same department on both sides.
        customer_id = (
            memberships_of(user=self.request.user).values_list("department_id", flat=True).first()
        )
        self._by_provider = target_candidates_by_provider(
            provider_ids=provider_ids,
            customer_id=customer_id,
            at=timezone.now(),
        )

    def _candidates(self, provider_id: int):
        if provider_id not in getattr(self, "_by_provider", {}):
            self._candidates_read([provider_id])  # one service (retrieve)
        return self._by_provider[provider_id]


class AgreementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Agreements between a provider and a customer department (or every customer): their
    managers' (either side) and HR's; others answer 404. `POST /agreements/` proposes the next
    version of a pair (a manager of either side; of the provider for every customer);
    `accept` and `decline` (with a comment) are for a manager of the other side, `withdraw`
    for the proposing side. Only an accepted version applies, to requests filed after it
    takes effect."""

    serializer_class = AgreementSerializer
    filterset_class = AgreementFilterSet
    ordering_fields = ["proposed_at", "version"]
    ordering = ["provider__name", "customer__name", "-version"]
    lookup_value_regex = r"\d+"
    # A proposal's targets are a list of objects, which only JSON carries.
    parser_classes = [JSONDepthSafeParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Agreement.objects.none()
        return agreements_visible_to(self.request.user).prefetch_related(
            "targets", "escalation_levels__assign_to"
        )

    def get_serializer_context(self):
        user = self.request.user
        return {
            **super().get_serializer_context(),
            "user": user,
            "now": timezone.now(),
            "managed": agreement_rules.managed_department_ids(user),
            "is_hr": agreement_rules.is_hr(user),
        }

    def _respond(self, agreement, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=agreement.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=AgreementProposeSerializer, responses={201: AgreementSerializer})
    def create(self, request, *args, **kwargs):
        # Who may propose is decided before the proposal is read: a manager of some
        # department first, then of one of the two sides named.
        if not agreement_rules.managed_department_ids(request.user):
            raise PermissionDenied("Only a department's managers propose agreements.")
        parties = AgreementPartiesSerializer(data=request.data)
        parties.is_valid(raise_exception=True)
        provider, customer = parties.validated_data["provider"], parties.validated_data["customer"]
        standing = agreement_rules.standing_for(
            request.user, provider_id=provider.pk, customer_id=customer.pk if customer else None
        )
        refusal = agreement_rules.propose_refusal(standing, provider=provider, customer=customer)
        if refusal:
            raise PermissionDenied(refusal)
        data = AgreementProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        agreement = services.agreement_propose(
            actor=request.user,
            provider=provider,
            customer=customer,
            valid_from=values["valid_from"],
            valid_until=values.get("valid_until"),
            calendar=values.get("calendar"),
            comment=values.get("comment", ""),
            targets=[
                services.TargetInput(
                    service=target["service"],
                    priority=target["priority"],
                    first_response=datetime.timedelta(seconds=target["first_response_seconds"]),
                    resolution=datetime.timedelta(seconds=target["resolution_seconds"]),
                )
                for target in values["targets"]
            ],
            escalation_levels=level_inputs(values.get("escalation_levels", [])),
        )
        return self._respond(agreement, status.HTTP_201_CREATED)

    def _decide(self, action_name: str, decide):
        agreement = self.get_object()  # 404 unless visible
        services.agreement_decide_authorize(
            actor=self.request.user, agreement=agreement, action=action_name
        )
        data = AgreementDecisionSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        decided = decide(
            actor=self.request.user,
            agreement=agreement,
            comment=data.validated_data.get("comment", ""),
        )
        return self._respond(decided)

    @extend_schema(request=AgreementDecisionSerializer, responses=AgreementSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept a proposal (a manager of the other side); an optional comment."""
        return self._decide("accept", services.agreement_accept)

    @extend_schema(request=AgreementDecisionSerializer, responses=AgreementSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Decline a proposal (a manager of the other side), saying why in `comment`."""
        return self._decide("decline", services.agreement_decline)

    @extend_schema(request=AgreementDecisionSerializer, responses=AgreementSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw a proposal nobody has answered (a manager of the proposing side)."""
        return self._decide("withdraw", services.agreement_withdraw)
