"""`manage.py import_org FILE [--dry-run]`: load or update the organisation from a file."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from departments.org_import import OrgImportError, org_import


class Command(BaseCommand):
    help = (
        "Create or update calendars, departments, services, SLA targets, people and "
        "memberships from a YAML or JSON file (format: docs/org-import.md). All or nothing; "
        "running the same file twice changes nothing the second time."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="YAML (.yaml, .yml) or JSON (.json) file")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and report what would change, then roll back",
        )

    def handle(self, *args, file, dry_run, **options):
        path = Path(file)
        try:
            data_text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            report = org_import(data_text=data_text, source_name=path.name, dry_run=dry_run)
        except OrgImportError as exc:
            count = len(exc.problems)
            raise CommandError(
                f"{path.name}: {count} problem{'s' if count != 1 else ''}, nothing was changed:\n"
                + "\n".join(exc.messages)
            ) from exc
        heading = (
            f"Dry run of {path.name} (nothing saved):" if dry_run else f"Imported {path.name}:"
        )
        self.stdout.write(heading)
        for line in report.summary_lines():
            self.stdout.write(f"  {line}")
        if not report.changed:
            self.stdout.write("Nothing to change: the database already matches the file.")
