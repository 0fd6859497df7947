from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ScorecardsConfig(AppConfig):
    name = "scorecards"
    verbose_name = "Scorecards"

    def ready(self):
        from .services import hr_group_ensure

        post_migrate.connect(_ensure_hr_group, sender=self, dispatch_uid="scorecards_hr_group")
        self._hr_group_ensure = hr_group_ensure


def _ensure_hr_group(sender, using="default", **kwargs):
    """After every migrate, the `hr` group exists and holds the HR permissions."""
    sender._hr_group_ensure(using=using)
