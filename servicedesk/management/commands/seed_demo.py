"""`manage.py seed_demo [--force]`: build the demo company, once.

The organisation comes from data/demo_org.yaml through `org_import`, the same code as
`manage.py import_org`; new people get the password settings.DEMO_PASSWORD. Then each app
adds its history, in the order of the layers (requests, surveys, reviews, then scores), inside
the same transaction: a failure leaves nothing half-built, so the next run starts afresh.
The project package calls each app's `demo.seed_demo(*, stdout)` by name: the apps do not
know of each other's demos. A step must be idempotent: `--force` runs every step again.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from departments.choices import HR_GROUP
from departments.models import Membership
from departments.org_import import OrgImportError, org_import
from requests_app import demo as requests_demo
from reviews import demo as reviews_demo
from scorecards import demo as scorecards_demo
from surveys import demo as surveys_demo

DEMO_ORG_FILE = settings.BASE_DIR / "data" / "demo_org.yaml"
# The demo is there when this user is; seed_demo then does nothing unless --force.
DEMO_MARKER_USERNAME = "staff"
DEMO_LOGINS = ("staff", "agent", "manager", "hr")


def demo_hooks() -> list:
    """The apps' demo steps after the organisation, in the order of the layers."""
    return [
        requests_demo.seed_demo,
        surveys_demo.seed_demo,
        reviews_demo.seed_demo,
        scorecards_demo.seed_demo,
    ]


class Command(BaseCommand):
    help = (
        "Load the demo organisation (data/demo_org.yaml) and print the demo logins. "
        "Runs once; --force loads it again (idempotently)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even if the demo organisation is already loaded",
        )

    def handle(self, *args, force, **options):
        already_loaded = get_user_model().objects.filter(username=DEMO_MARKER_USERNAME).exists()
        if already_loaded and not force:
            self.stdout.write("Demo organisation already loaded (use --force to load it again).")
        else:
            with transaction.atomic():
                self.seed_organisation()
                for hook in demo_hooks():
                    hook(stdout=self.stdout)
        self.print_logins()

    def seed_organisation(self) -> None:
        try:
            report = org_import(
                data_text=DEMO_ORG_FILE.read_text(encoding="utf-8"),
                source_name=DEMO_ORG_FILE.name,
                default_password=settings.DEMO_PASSWORD,
            )
        except OrgImportError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        self.stdout.write(f"Demo organisation loaded from {DEMO_ORG_FILE.name}:")
        for line in report.summary_lines():
            self.stdout.write(f"  {line}")

    def print_logins(self) -> None:
        users = get_user_model().objects.filter(username__in=DEMO_LOGINS)
        by_username = {user.username: user for user in users}
        hr_usernames = set(users.filter(groups__name=HR_GROUP).values_list("username", flat=True))
        primaries = {
            m.user.username: m
            for m in Membership.objects.filter(
                user__username__in=DEMO_LOGINS, is_primary=True
            ).select_related("user", "department")
        }
        rows = [("username", "role", "department", "password")]
        for username in DEMO_LOGINS:
            if username not in by_username:
                continue
            membership = primaries.get(username)
            role = membership.get_role_display().lower() if membership else "-"
            if username in hr_usernames:
                role += " + HR reports"
            department = membership.department.name if membership else "-"
            rows.append((username, role, department, settings.DEMO_PASSWORD))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("")
        self.stdout.write(f"Log in at {settings.SITE_URL}/ as:")
        for row in rows:
            self.stdout.write(
                "  "
                + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
