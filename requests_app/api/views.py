"""The requests API: thin views over the services, with the visibility selector as gate."""

from django.http import Http404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from core.parsers import JSONDepthSafeParser
from departments.models import Department

from .. import services
from ..filtersets import RequestFilterSet
from ..models import Notification, ServiceRequest
from ..notifications import notifications_mark_read
from ..selectors import (
    attachments_visible_to,
    comments_visible_to,
    notifications_for,
    request_list,
    requests_visible_to,
    timeline_for,
    unread_count,
)
from ..workflow import request_action_authorize, request_file_authorize
from . import listing
from .ordering import RequestOrdering
from .serializers import (
    AssignSerializer,
    AttachmentCreateSerializer,
    AttachmentSerializer,
    BlockSerializer,
    CommentCreateSerializer,
    CommentOptionalSerializer,
    CommentSerializer,
    EventSerializer,
    MarkReadSerializer,
    NotificationSerializer,
    PrioritySerializer,
    PromiseSerializer,
    RequestCreateSerializer,
    RequestSerializer,
    TransferSerializer,
)


def _transition_action(name: str, *, with_comment: bool):
    """The API action for one status change (RequestViewSet._transition does the work)."""

    def handler(self, request, pk=None):
        return self._transition(name, with_comment=with_comment)

    handler.__name__ = handler.__qualname__ = name
    handler = action(detail=True, methods=["post"])(handler)
    return extend_schema(
        request=CommentOptionalSerializer if with_comment else None, responses=RequestSerializer
    )(handler)


class RequestViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Requests you can see: filed by you, to your department (agents, managers), or by your
    department (managers; confidential ones excepted). Others answer 404."""

    serializer_class = RequestSerializer
    filterset_class = RequestFilterSet
    filter_backends = [DjangoFilterBackend, RequestOrdering]
    ordering = ["-created_at"]
    parser_classes = [JSONDepthSafeParser, MultiPartParser, FormParser]
    # Ids are numbers: anything else is no route (404), not a failed lookup in the actions.
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return request_list(user=self.request.user, provider_department=self._listed_department())

    def list(self, request, *args, **kwargs):
        """A page chosen by id (filters, order and pagination on the visible requests), then
        drawn from a projection (`listing.request_rows`): the serializer's JSON, without
        building every request of the page and its related rows as models."""
        ids = self.filter_queryset(self.get_queryset()).values_list("pk", flat=True)
        page = self.paginate_queryset(ids)
        rows = listing.request_rows(
            list(ids if page is None else page), now=timezone.now(), user=request.user
        )
        return self.get_paginated_response(rows) if page is not None else Response(rows)

    def _listed_department(self) -> Department | None:
        """The department of `?provider_department=<slug>` on the list: the visibility
        selector answers a department's list from its indexes (the filter applies too)."""
        slug = (
            self.request.query_params.get("provider_department") if self.action == "list" else None
        )
        return Department.objects.filter(slug=slug).first() if slug else None

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "now": timezone.now(),
            "user": self.request.user,
        }

    def _request(self) -> ServiceRequest:
        """The request in the URL, if visible: the only way actions reach an object."""
        request = requests_visible_to(self.request.user).filter(pk=self.kwargs["pk"]).first()
        if request is None:
            raise Http404
        return request

    def _target(self, action_name: str) -> ServiceRequest:
        """The request in the URL (404 unless visible), once the caller may take the action
        on it (403): called before the input is read, so a refusal never depends on it."""
        target = self._request()
        request_action_authorize(actor=self.request.user, request=target, action=action_name)
        return target

    def _input(self, action_name: str, serializer_class) -> tuple[ServiceRequest, dict]:
        """The request, once the caller may take the action on it, and then the input,
        validated (400 with field errors)."""
        target = self._target(action_name)
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        return target, data.validated_data

    def _respond(self, request: ServiceRequest, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().filter(pk=request.pk).first()
        if fresh is None:
            # The actor has just moved it out of their own sight (a transfer to a department
            # they are not in): answer with the request they acted on instead of a 500.
            fresh = request
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def create(self, request, *args, **kwargs):
        request_file_authorize(requester=request.user)
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.request_create(
            requester=request.user, files=request.FILES.getlist("files"), **data.validated_data
        )
        return self._respond(created, status.HTTP_201_CREATED)

    def _transition(self, action_name: str, *, with_comment: bool = False):
        if with_comment:
            target, data = self._input(action_name, CommentOptionalSerializer)
        else:
            target, data = self._target(action_name), {}
        comment = data.get("comment", "")
        updated = services.request_transition(
            request=target, actor=self.request.user, action=action_name, comment=comment
        )
        return self._respond(updated)

    @extend_schema(request=None, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._respond(
            services.request_acknowledge(request=self._target("acknowledge"), actor=request.user)
        )

    @extend_schema(request=AssignSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        target, data = self._input("assign", AssignSerializer)
        return self._respond(
            services.request_assign(
                request=target,
                actor=request.user,
                assignee=data["assignee"],
            )
        )

    # The status changes: POST /requests/{id}/<action>/, a comment optional where it says why.
    start = _transition_action("start", with_comment=False)
    wait = _transition_action("wait", with_comment=True)
    resume = _transition_action("resume", with_comment=True)
    resolve = _transition_action("resolve", with_comment=True)
    decline = _transition_action("decline", with_comment=True)  # the comment is required
    reopen = _transition_action("reopen", with_comment=True)
    cancel = _transition_action("cancel", with_comment=True)
    close = _transition_action("close", with_comment=False)

    @extend_schema(request=PromiseSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def promise(self, request, pk=None):
        target, data = self._input("promise", PromiseSerializer)
        return self._respond(
            services.request_promise(
                request=target,
                actor=request.user,
                promised_at=data["promised_at"],
            )
        )

    @extend_schema(request=TransferSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        target, data = self._input("transfer", TransferSerializer)
        return self._respond(
            services.request_transfer(
                request=target,
                actor=request.user,
                department=data["department"],
                service=data.get("service"),
            )
        )

    @extend_schema(request=PrioritySerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def priority(self, request, pk=None):
        target, data = self._input("priority", PrioritySerializer)
        return self._respond(
            services.request_priority_change(
                request=target,
                actor=request.user,
                priority=data["priority"],
            )
        )

    def _blocker(self, data) -> ServiceRequest:
        blocker = requests_visible_to(self.request.user).filter(pk=data["blocked_by"]).first()
        if blocker is None:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"blocked_by": ["No such request."]})
        return blocker

    @extend_schema(request=BlockSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def block(self, request, pk=None):
        target, data = self._input("block", BlockSerializer)
        services.request_block(request=target, actor=request.user, blocked_by=self._blocker(data))
        return self._respond(target)

    @extend_schema(request=BlockSerializer, responses=RequestSerializer)
    @action(detail=True, methods=["post"])
    def unblock(self, request, pk=None):
        target, data = self._input("unblock", BlockSerializer)
        services.request_unblock(request=target, actor=request.user, blocked_by=self._blocker(data))
        return self._respond(target)

    @extend_schema(methods=["get"], responses=CommentSerializer(many=True))
    @extend_schema(
        methods=["post"], request=CommentCreateSerializer, responses={201: CommentSerializer}
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def comments(self, request, pk=None):
        target = self._request()
        if request.method == "GET":
            comments = comments_visible_to(user=request.user, request=target)
            return Response(CommentSerializer(comments, many=True).data)
        # Internal or not is input: the service decides a note from it.
        request_action_authorize(actor=request.user, request=target, action="comment")
        data = CommentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.request_comment_add(
            request=target,
            author=request.user,
            files=request.FILES.getlist("files"),
            **data.validated_data,
        )
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses=AttachmentSerializer(many=True))
    @extend_schema(
        methods=["post"],
        request={"multipart/form-data": AttachmentCreateSerializer},
        responses={201: AttachmentSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None, pagination_class=None)
    def attachments(self, request, pk=None):
        target = self._request()
        if request.method == "GET":
            attachments = attachments_visible_to(user=request.user, request=target)
            return Response(AttachmentSerializer(attachments, many=True).data)
        request_action_authorize(actor=request.user, request=target, action="attach")
        saved = services.request_attachments_add(
            request=target, actor=request.user, files=request.FILES.getlist("file")
        )
        return Response(AttachmentSerializer(saved, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def events(self, request, pk=None):
        events = timeline_for(user=request.user, request=self._request())
        return Response(EventSerializer(events, many=True).data)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your notifications, newest first; `unread` counts the ones not read yet."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()  # for the schema; get_queryset scopes it
    filterset_fields: list[str] = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return notifications_for(user=self.request.user)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = unread_count(user=request.user)
        return response

    @extend_schema(request=MarkReadSerializer, responses={200: None})
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request):
        data = MarkReadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = notifications_mark_read(user=request.user, ids=data.validated_data.get("ids"))
        return Response({"marked": count})
