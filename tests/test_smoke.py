def test_it_creates_the_hr_group_with_its_permissions(db):
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="hr")
    assert set(group.permissions.values_list("codename", flat=True)) == {
        "view_all_scorecards",
        "export_reports",
    }
