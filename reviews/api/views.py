"""The reviews API: thin callers of the services. Who may act is decided (rules.py) before
the input is read; a review or action the caller may not see answers 404."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.parsers import JSONDepthSafeParser
from departments.models import Department
from requests_app.models import ServiceRequest

from .. import services
from ..choices import ActionState
from ..filtersets import ReviewActionFilterSet, ReviewFilterSet
from ..models import Review, ReviewAction, ReviewRule
from ..rules import review_authorize, reviews_visible_to, rules_authorize
from ..selectors import review_list
from .serializers import (
    ActionAddSerializer,
    ActionDropSerializer,
    ActionUpdateSerializer,
    ReviewActionSerializer,
    ReviewDetailSerializer,
    ReviewOpenSerializer,
    ReviewRuleInputSerializer,
    ReviewRuleSerializer,
    ReviewSerializer,
    SectionWriteSerializer,
)


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reviews the caller takes part in (rules.py: participants of the involved departments,
    and the requesters; a confidential request's review only for those who see it). `POST
    /reviews/` opens one by hand (a manager of the provider or the customer); `sections`
    writes the caller's department's part, `actions` adds an action, `close` closes it once
    no action is open."""

    filterset_class = ReviewFilterSet
    ordering_fields = ["opened_at"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return review_list(user=self.request.user)

    def get_serializer_class(self):
        return ReviewDetailSerializer if self.action != "list" else ReviewSerializer

    def _respond(self, review, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=review.pk)
        return Response(
            ReviewDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=ReviewOpenSerializer, responses={201: ReviewDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Open a review on requests of one pair, or on a pair and quarter; the same again
        answers the review it opened (200)."""
        services.review_opener_authorize(actor=request.user)
        data = ReviewOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        requests = list(ServiceRequest.objects.filter(pk__in=values.get("requests", [])))
        if len(requests) != len(set(values.get("requests", []))):
            return Response({"requests": ["No such request."]}, status=status.HTTP_400_BAD_REQUEST)
        review, opened = services.review_open_manual(
            actor=request.user,
            requests=requests,
            provider=values.get("provider"),
            customer=values.get("customer"),
            period=values.get("period", ""),
        )
        return self._respond(review, status.HTTP_201_CREATED if opened else status.HTTP_200_OK)

    @extend_schema(request=SectionWriteSerializer, responses=ReviewDetailSerializer)
    @action(detail=True, methods=["post"])
    def sections(self, request, pk=None):
        """Write your department's part (the parts given; the others stay)."""
        review = self.get_object()
        review_authorize(actor=request.user, review=review, action="write_section")
        data = SectionWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        department = values.pop("department")
        factors = values.pop("factors", None)
        services.review_section_write(
            actor=request.user, review=review, department=department, factors=factors, **values
        )
        return self._respond(review)

    @extend_schema(request=ActionAddSerializer, responses={201: ReviewActionSerializer})
    @action(detail=True, methods=["post"])
    def actions(self, request, pk=None):
        """Add an action, owned by an involved department and one of its members."""
        review = self.get_object()
        review_authorize(actor=request.user, review=review, action="add_action")
        data = ActionAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        added = services.review_action_add(actor=request.user, review=review, **data.validated_data)
        return Response(ReviewActionSerializer(added).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ReviewDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the review (a manager of an involved department; no action open)."""
        review = self.get_object()
        return self._respond(services.review_close(actor=request.user, review=review))


class ReviewActionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Actions of the reviews the caller sees (`?mine=true`: those they own). `update`,
    `done` and `drop` (with a reason) are for the owning department and the involved
    managers; `confirm` for someone of another involved department."""

    serializer_class = ReviewActionSerializer
    filterset_class = ReviewActionFilterSet
    ordering_fields = ["due_on", "created_at"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReviewAction.objects.none()
        return (
            ReviewAction.objects.filter(review__in=reviews_visible_to(self.request.user))
            .select_related("owner", "owner_department", "confirmed_by")
            .order_by("due_on", "id")
        )

    def _authorized(self, name):
        item = self.get_object()
        review_authorize(actor=self.request.user, review=item.review, action=name, item=item)
        return item

    @extend_schema(request=ActionUpdateSerializer, responses=ReviewActionSerializer)
    @action(detail=True, methods=["post"], url_path="update")
    def update_action(self, request, pk=None):
        """Change an open action's title, owner (of its department) or due date."""
        item = self._authorized("update")
        data = ActionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changed = services.review_action_update(
            actor=request.user, action=item, **data.validated_data
        )
        return Response(ReviewActionSerializer(changed).data)

    @extend_schema(request=None, responses=ReviewActionSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        """Mark the action done; the other departments are asked to confirm."""
        item = self._authorized("done")
        settled = services.review_action_settle(
            actor=request.user, action=item, state=ActionState.DONE
        )
        return Response(ReviewActionSerializer(settled).data)

    @extend_schema(request=ActionDropSerializer, responses=ReviewActionSerializer)
    @action(detail=True, methods=["post"])
    def drop(self, request, pk=None):
        """Drop the action, saying why in `reason`."""
        item = self._authorized("drop")
        data = ActionDropSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        settled = services.review_action_settle(
            actor=request.user,
            action=item,
            state=ActionState.DROPPED,
            reason=data.validated_data["reason"],
        )
        return Response(ReviewActionSerializer(settled).data)

    @extend_schema(request=None, responses=ReviewActionSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Confirm a done action (someone of another involved department)."""
        item = self._authorized("confirm")
        return Response(
            ReviewActionSerializer(
                services.review_action_confirm(actor=request.user, action=item)
            ).data
        )


class ReviewRulesView(generics.GenericAPIView):
    """`/reviews/rules/{slug}/`: when reviews open by themselves on a department's service
    (rules.py: its members read them, its managers change them; others 403, as on the
    page). Asked before the body is read."""

    serializer_class = ReviewRuleSerializer
    parser_classes = [JSONDepthSafeParser]
    lookup_field = "slug"

    def get_queryset(self):
        return Department.objects.all()

    def _respond(self, department, *, can_edit) -> Response:
        rule = ReviewRule.objects.filter(department=department).select_related(
            "department", "updated_by"
        ).first() or ReviewRule(department=department)
        return Response(ReviewRuleSerializer(rule, context={"can_edit": can_edit}).data)

    def get(self, request, slug):
        """The department's review rules (its members)."""
        department = get_object_or_404(Department, slug=slug)
        can_edit = rules_authorize(actor=request.user, department=department, edit=False)
        return self._respond(department, can_edit=can_edit)

    @extend_schema(request=ReviewRuleInputSerializer, responses=ReviewRuleSerializer)
    def post(self, request, slug):
        """Change some of the department's review rules (its managers)."""
        department = get_object_or_404(Department, slug=slug)
        rules_authorize(actor=request.user, department=department, edit=True)
        data = ReviewRuleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_rule_set(actor=request.user, department=department, **data.validated_data)
        return self._respond(department, can_edit=True)
