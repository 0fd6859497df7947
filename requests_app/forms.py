"""Forms of the request pages. They check the shape of the input; the rules (who may do
what, in which status, which files) live in the services, whose ValidationErrors the views
put back on these forms."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from core.limits import TEXT_MAX_LENGTH
from departments.choices import Priority
from departments.models import Department, Service
from departments.selectors import memberships_of

from .choices import Status
from .filtersets import SLA_STATES
from .models import ServiceRequest
from .selectors import request_get_visible
from .workflow import promise_day


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a (possibly empty) list."""

    widget = MultipleFileInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        if isinstance(data, list | tuple):
            return [clean_one(item, initial) for item in data if item]
        return [clean_one(data, initial)] if data else []


def _files_help() -> str:
    return (
        f"Up to {settings.ATTACHMENT_MAX_FILES} files of at most "
        f"{filesizeformat(settings.ATTACHMENT_MAX_BYTES)} each: "
        "PDF, images, text, CSV, Office and OpenDocument files."
    )


MARKDOWN_HELP = "Markdown: **bold**, *italic*, `code`, lists with -, links as [text](https://…)."


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        name = obj.get_full_name()
        return f"{name} ({obj.username})" if name else obj.username


def service_choices(services, *, grouped: bool = True) -> list:
    """Choices for a service <select>: one <optgroup> per department unless `grouped` is off."""
    choices: list = [("", "Choose a service…")]
    if not grouped:
        return choices + [(service.pk, service.name) for service in services]
    groups: dict[str, list] = {}
    for service in services:
        groups.setdefault(service.department.name, []).append((service.pk, service.name))
    return choices + list(groups.items())


def offered_services() -> QuerySet[Service]:
    return (
        Service.objects.filter(active=True, department__is_provider=True)
        .select_related("department")
        .order_by("department__name", "name")
    )


# --- filing --------------------------------------------------------------------------------


class RequestCreateForm(forms.Form):
    requesting_department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        label="Filing for",
        empty_label=None,
        required=False,
        help_text="You belong to several departments: the request counts for this one.",
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        to_field_name="slug",
        label="Department",
        required=False,
        empty_label="Any department",
        help_text="Who should do it. Picking one narrows the list of services.",
    )
    service = forms.TypedChoiceField(coerce=int, label="Service")
    priority = forms.ChoiceField(
        choices=[("", "The service's default"), *Priority.choices],
        required=False,
        label="Priority",
    )
    title = forms.CharField(
        max_length=200, label="Title", widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    description = forms.CharField(
        max_length=TEXT_MAX_LENGTH,
        label="Description",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=MARKDOWN_HELP,
    )
    confidential = forms.BooleanField(
        required=False,
        label="Confidential",
        help_text=(
            "Only you and the agents and managers of the department you ask can see it; "
            "the managers of your own department cannot."
        ),
    )
    files = MultipleFileField(label="Attachments")

    def __init__(self, *args, user, department: Department | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        memberships = list(memberships_of(user=user))
        if len(memberships) > 1:
            field = self.fields["requesting_department"]
            field.queryset = Department.objects.filter(
                pk__in=[m.department_id for m in memberships]
            )
            field.initial = memberships[0].department
        else:
            del self.fields["requesting_department"]
        self.fields["department"].queryset = Department.objects.filter(
            is_provider=True, services__active=True
        ).distinct()
        # With htmx, picking a department reloads the service <select> with its services only;
        # without it, the full list grouped by department works as well.
        self.fields["department"].widget.attrs.update(
            {
                "hx-get": reverse("requests:new-services"),
                "hx-target": "#id_service",
                "hx-swap": "outerHTML",
            }
        )
        services = offered_services()
        if department is not None:
            services = services.filter(department=department)
        self.services = {service.pk: service for service in services}
        self.fields["service"].choices = service_choices(
            self.services.values(), grouped=department is None
        )
        self.fields["files"].help_text = _files_help()

    def clean(self):
        cleaned = super().clean()
        service_id = cleaned.get("service")
        if service_id is None:
            return cleaned
        service = self.services[service_id]
        department = cleaned.get("department")
        if department is not None and service.department_id != department.pk:
            self.add_error(
                "service",
                f"{service.name} is a service of {service.department.name}, "
                f"not of {department.name}: pick one of {department.name}'s services.",
            )
            return cleaned
        cleaned["service"] = service
        return cleaned


# --- working a request ---------------------------------------------------------------------


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=TEXT_MAX_LENGTH,
        label="Reply",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=MARKDOWN_HELP,
    )
    internal = forms.BooleanField(
        required=False,
        label="Internal note",
        help_text="Only your department sees it; it does not count as a response.",
    )
    files = MultipleFileField(label="Attachments")

    def __init__(self, *args, allow_internal: bool = False, **kwargs):
        kwargs.setdefault("auto_id", "id_reply_%s")
        super().__init__(*args, **kwargs)
        if not allow_internal:
            del self.fields["internal"]
        self.fields["files"].help_text = _files_help()


class AttachForm(forms.Form):
    files = MultipleFileField(label="Add files")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_attach_%s")
        super().__init__(*args, **kwargs)
        self.fields["files"].help_text = _files_help()


class TransitionForm(forms.Form):
    comment = forms.CharField(
        max_length=TEXT_MAX_LENGTH,
        required=False,
        label="Comment (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Posted as a public reply.",
    )

    def __init__(self, *args, action: str, **kwargs):
        kwargs.setdefault("auto_id", f"id_{action}_%s")
        super().__init__(*args, **kwargs)
        if action == "decline":  # a reason is required (workflow.decline_refusal)
            self.fields["comment"].label = "Reason"
            self.fields[
                "comment"
            ].help_text = "Posted as a public reply; the requester may reopen the request."


class AssignForm(forms.Form):
    assignee = PersonChoiceField(
        queryset=None, required=False, empty_label="Nobody (unassign)", label="Assignee"
    )

    def __init__(self, *args, staff: QuerySet, **kwargs):
        kwargs.setdefault("auto_id", "id_assign_%s")
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff.order_by("first_name", "last_name", "username")


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices, label="Priority")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_priority_%s")
        super().__init__(*args, **kwargs)


class DayOrMomentField(forms.DateTimeField):
    """A day (2026-12-04: "promised Friday", kept by delivering any time that day in the
    provider's timezone) or a moment. Django reads a naive moment in the current timezone
    (the viewer's, activated by UserTimezoneMiddleware) and refuses a wall time that a DST
    change makes ambiguous or skips."""

    def to_python(self, value):
        try:
            day = promise_day(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return day if day is not None else super().to_python(value)


class PromiseForm(forms.Form):
    promised_at = DayOrMomentField(
        label="Promise resolution by",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="The day you will deliver by, in your department's timezone. "
        "The requester is told.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_promise_%s")
        super().__init__(*args, **kwargs)


class TransferForm(forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(),
        to_field_name="slug",
        label="Transfer to",
        empty_label="Choose a department…",
    )
    service = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Service (optional)",
        help_text="Blank: the service of the same name there, else their first one.",
    )

    def __init__(self, *args, request: ServiceRequest, **kwargs):
        kwargs.setdefault("auto_id", "id_transfer_%s")
        super().__init__(*args, **kwargs)
        departments = Department.objects.filter(is_provider=True).exclude(
            pk__in=[request.provider_department_id, request.requesting_department_id]
        )
        self.fields["department"].queryset = departments
        services = offered_services().filter(department__in=departments)
        self.services = {service.pk: service for service in services}
        choices = service_choices(self.services.values())
        choices[0] = ("", "Same name, or their first service")
        self.fields["service"].choices = choices

    def clean(self):
        cleaned = super().clean()
        service_id, department = cleaned.get("service"), cleaned.get("department")
        if service_id is None:
            cleaned["service"] = None
            return cleaned
        service = self.services[service_id]
        if department is not None and service.department_id != department.pk:
            self.add_error("service", f"{service.name} is not a service of {department.name}.")
        cleaned["service"] = service
        return cleaned


class BlockForm(forms.Form):
    blocked_by = forms.CharField(
        label="Blocked by",
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "REQ-000123"}),
        help_text="The reference of the request this one waits on.",
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("auto_id", "id_block_%s")
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_blocked_by(self):
        key = self.cleaned_data["blocked_by"].strip()
        blocker = request_get_visible(user=self.user, key=key)
        if blocker is None:
            raise ValidationError(f"There is no request {key} that you can see.")
        return blocker


class UnblockForm(forms.Form):
    blocked_by = forms.IntegerField(widget=forms.HiddenInput)


class BulkAssignForm(forms.Form):
    ids = forms.ModelMultipleChoiceField(
        queryset=ServiceRequest.objects.none(),
        error_messages={"required": "Tick the requests to assign first."},
    )
    assignee = PersonChoiceField(
        queryset=None, label="Assign selected to", empty_label="Choose a person…"
    )

    def __init__(self, *args, requests: QuerySet, staff: QuerySet, people=None, **kwargs):
        """`people`: the staff already read (as `staff_ordered`), to draw the choices from
        instead of reading them again; `staff` still validates the choice."""
        kwargs.setdefault("auto_id", "id_bulk_%s")
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = requests
        assignee = self.fields["assignee"]
        assignee.queryset = staff_ordered(staff)
        if people is not None:
            assignee.choices = [
                ("", assignee.empty_label),
                *((person.pk, assignee.label_from_instance(person)) for person in people),
            ]


def staff_ordered(staff: QuerySet) -> QuerySet:
    return staff.order_by("first_name", "last_name", "username")


# --- list filters --------------------------------------------------------------------------

STATUS_FILTER_CHOICES = [
    ("", "Any status"),
    ("open", "Open"),
    ("done", "Resolved, closed or cancelled"),
    *Status.choices,
]


class RequestFilterForm(forms.Form):
    """The list pages' filters, translated into RequestFilterSet's parameters."""

    status = forms.ChoiceField(choices=STATUS_FILTER_CHOICES, required=False, label="Status")
    priority = forms.ChoiceField(
        choices=[("", "Any priority"), *Priority.choices], required=False, label="Priority"
    )
    q = forms.CharField(
        required=False,
        label="Search",
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "REQ-000123 or words"}),
    )

    def filterset_data(self) -> QueryDict:
        data = QueryDict(mutable=True)
        values = self.cleaned_data if self.is_bound else {}
        status = values.get("status")
        if status == "open":
            data["open"] = "true"
        elif status == "done":
            data["open"] = "false"
        elif status:
            data.setlist("status", [status])
        if values.get("priority"):
            data.setlist("priority", [values["priority"]])
        if values.get("q"):
            data["q"] = values["q"]
        return data


class MyRequestsFilterForm(RequestFilterForm):
    provider_department = forms.ChoiceField(required=False, label="Department asked")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider_department"].choices = [
            ("", "Any department"),
            *Department.objects.filter(is_provider=True).values_list("slug", "name"),
        ]

    def filterset_data(self) -> QueryDict:
        data = super().filterset_data()
        if self.cleaned_data.get("provider_department"):
            data["provider_department"] = self.cleaned_data["provider_department"]
        return data


QUEUE_SORTS = [
    ("due", "Resolution due, soonest first"),
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("priority", "Most urgent first"),
]


class QueueFilterForm(RequestFilterForm):
    service = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Service")
    assignee = forms.ChoiceField(required=False, label="Assignee")
    sla_state = forms.ChoiceField(
        choices=[("", "Any SLA state"), *SLA_STATES], required=False, label="SLA"
    )
    requesting_department = forms.ChoiceField(required=False, label="From")
    sort = forms.ChoiceField(choices=QUEUE_SORTS, required=False, label="Sort")

    field_order = [
        "q",
        "status",
        "priority",
        "service",
        "assignee",
        "sla_state",
        "requesting_department",
        "sort",
    ]

    def __init__(self, *args, user, department: Department, people: list, **kwargs):
        """`people`: the department's staff, as `staff_ordered` reads them."""
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["service"].choices = [
            ("", "Any service"),
            *department.services.order_by("name").values_list("pk", "name"),
        ]
        self.fields["assignee"].choices = [
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "Unassigned"),
            *((person.username, person.get_full_name() or person.username) for person in people),
        ]
        self.fields["requesting_department"].choices = [
            ("", "Any department"),
            *Department.objects.exclude(pk=department.pk).values_list("slug", "name"),
        ]

    def filterset_data(self) -> QueryDict:
        data = super().filterset_data()
        values = self.cleaned_data
        if values.get("service"):
            data["service"] = str(values["service"])
        assignee = values.get("assignee")
        if assignee:
            data["assignee"] = self.user.username if assignee == "me" else assignee
        if values.get("sla_state"):
            data["sla_state"] = values["sla_state"]
        if values.get("requesting_department"):
            data["requesting_department"] = values["requesting_department"]
        return data

    @property
    def ordering(self) -> str:
        return (self.cleaned_data.get("sort") if self.is_bound else "") or "due"
