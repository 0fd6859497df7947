"""The description and every comment body stored as sanitised HTML beside their Markdown,
so that pages show it instead of rendering on every view; existing rows are rendered here,
in batches."""

from django.db import migrations, models

from core.markdown import render_markdown

BATCH = 100


def _fill(model, source: str, target: str) -> None:
    last = 0
    while True:
        rows = list(
            model.objects.filter(pk__gt=last, **{target: ""})
            .order_by("pk")
            .values_list("pk", source)[:BATCH]
        )
        if not rows:
            return
        model.objects.bulk_update(
            [model(pk=pk, **{target: render_markdown(text)}) for pk, text in rows], [target]
        )
        last = rows[-1][0]


def stored_html_fill(apps, schema_editor):
    _fill(apps.get_model("requests_app", "ServiceRequest"), "description", "description_html")
    _fill(apps.get_model("requests_app", "Comment"), "body", "body_html")


class Migration(migrations.Migration):

    dependencies = [
        ("requests_app", "0010_promised_day"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicerequest",
            name="description_html",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="comment",
            name="body_html",
            field=models.TextField(blank=True, editable=False),
        ),
        # Reversed, the columns go with the fields: nothing to undo here.
        migrations.RunPython(stored_html_fill, migrations.RunPython.noop, elidable=True),
    ]
