"""Escalation levels of a department or an agreement version: who sees and edits them, and
what a set of levels must be. Written once; the services, the pages, the API and the org
import ask here (the firing itself is requests_app.escalation's).

- The department's members (any role) and HR see its levels; its managers edit them. An
  agreement version's levels are part of the version: proposed with it by a manager of a
  side (departments.agreements decides who may propose), seen by whoever sees the agreement.
- A set holds at most `MAX_LEVELS`, numbered 1, 2, ... in the order given; on each clock
  they watch, they come later and later: shares of the target rising, then times past due
  rising (so firing in order is firing as they fall due).
- An assign action names an agent or manager of the provider department.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from .choices import EscalationAction, EscalationClock, EscalationThreshold, Role
from .models import Department, EscalationLevel, Membership

MAX_LEVELS = 10


@dataclass(frozen=True)
class LevelInput:
    """One level as a form, the API or the import gives it (numbered by its position)."""

    threshold: str
    value: int
    clock: str = EscalationClock.BOTH
    notify: list = field(default_factory=list)
    action: str = EscalationAction.NONE
    assign_to: object = None  # a user
    raise_to: str = ""


def levels_standing(user, department: Department, *, roles=None, hr=None) -> tuple[bool, bool]:
    """(sees, edits): may the user read the department's levels (its members, HR), may they
    replace them (its managers)? `roles` (department id -> the user's role) and `hr`, when
    the caller knows them (a page's navigation), save the queries."""
    from .agreements import is_hr

    if user is None or not user.is_authenticated:
        return False, False
    if roles is None:
        roles = dict(Membership.objects.filter(user=user).values_list("department_id", "role"))
    role = roles.get(department.pk)
    if role is not None:
        return True, role == Role.MANAGER
    return (is_hr(user) if hr is None else hr), False


def sees_levels(user, department: Department, **known) -> bool:
    return levels_standing(user, department, **known)[0]


def edits_levels(user, department: Department, **known) -> bool:
    return levels_standing(user, department, **known)[1]


EDIT_REFUSAL = "Only the department's managers edit its escalation levels."


def _order_key(level: LevelInput) -> tuple[int, int]:
    return (0 if level.threshold == EscalationThreshold.SHARE else 1, level.value or 0)


def _watches(level: LevelInput, kind: str) -> bool:
    return level.clock in (kind, EscalationClock.BOTH)


def level_rows(department: Department, levels: list[LevelInput], *, agreement=None) -> list:
    """The EscalationLevel rows of a set, unsaved, numbered from 1."""
    return [
        EscalationLevel(
            department=department,
            agreement=agreement,
            number=index + 1,
            clock=level.clock,
            threshold=level.threshold,
            value=level.value,
            notify=list(level.notify),
            action=level.action or "",
            assign_to=level.assign_to,
            raise_to=level.raise_to or "",
        )
        for index, level in enumerate(levels)
    ]


def levels_errors(
    department: Department, levels: list[LevelInput], *, is_staff=None
) -> dict[int | str, dict[str, list[str]] | list[str]]:
    """What is wrong with a set of levels: {level index: {field: messages}} and, under
    "levels", what is wrong with the set; empty when nothing is. `is_staff(user)`: is the
    user an agent or manager of the department (the stored memberships when not given; the
    org import asks its file)."""
    errors: dict = {}
    if len(levels) > MAX_LEVELS:
        errors["levels"] = [f"At most {MAX_LEVELS} levels."]
    if is_staff is None:
        staff_ids = set(
            Membership.objects.filter(
                department=department, role__in=[Role.AGENT, Role.MANAGER]
            ).values_list("user_id", flat=True)
        )

        def is_staff(user):
            return user.pk in staff_ids

    for index, row in enumerate(level_rows(department, levels)):
        problems: dict[str, list[str]] = {}
        try:
            row.clean_fields(exclude=["department", "agreement", "assign_to"])
            row.clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                problems.setdefault(name, []).extend(messages)
        assignee = levels[index].assign_to
        if (
            row.action == EscalationAction.ASSIGN
            and assignee is not None
            and not is_staff(assignee)
        ):
            problems.setdefault("assign_to", []).append(
                f"{assignee.username} is not an agent or manager of {department.name}."
            )
        if problems:
            errors[index] = problems
    for kind in (EscalationClock.FIRST_RESPONSE, EscalationClock.RESOLUTION):
        previous = None
        for index, level in enumerate(levels):
            if not _watches(level, kind) or index in errors:
                continue
            if previous is not None and _order_key(level) <= _order_key(levels[previous]):
                errors.setdefault(index, {}).setdefault("value", []).append(
                    f"Level {index + 1} must come later on the clock than level "
                    f"{previous + 1}: shares rising, then times past due rising."
                )
            previous = index
    return errors


def errors_as_messages(errors: dict) -> dict[str, list[str]]:
    """`levels_errors` as a ValidationError's dict: {"levels": ["Level 2, value: ..."]}."""
    combined: dict[str, list[str]] = {}
    for key, problems in sorted(errors.items(), key=lambda item: (str(type(item[0])), item[0])):
        if key == "levels":
            combined.setdefault("levels", []).extend(problems)
            continue
        for name, messages in problems.items():
            for message in messages:
                combined.setdefault("levels", []).append(f"Level {key + 1}, {name}: {message}")
    return combined


def levels_check(department: Department, levels: list[LevelInput], **known) -> None:
    """ValidationError with every problem of the set (`levels_errors`)."""
    errors = levels_errors(department, levels, **known)
    if errors:
        raise ValidationError(errors_as_messages(errors))


def level_input(level: EscalationLevel) -> LevelInput:
    """A stored level as input again (a form's initial data, the import's comparison)."""
    return LevelInput(
        threshold=level.threshold,
        value=level.value,
        clock=level.clock,
        notify=list(level.notify),
        action=level.action,
        assign_to=level.assign_to,
        raise_to=level.raise_to,
    )
