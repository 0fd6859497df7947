from django.contrib.auth.models import Group, Permission

from departments.choices import HR_GROUP

HR_PERMISSIONS = ("view_all_scorecards", "export_reports")


def hr_group_ensure(*, using: str = "default") -> Group:
    """Create the `hr` group with the HR permissions, if it is not there yet."""
    group, _ = Group.objects.using(using).get_or_create(name=HR_GROUP)
    permissions = Permission.objects.using(using).filter(
        content_type__app_label="scorecards", codename__in=HR_PERMISSIONS
    )
    group.permissions.add(*permissions)
    return group
