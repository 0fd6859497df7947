"""Agreements kept: a hand-built week with known answers (scorecards.compute.agreement_figures).

The week is that of tests/scorecards/agreement_story.py (its docstring tells the story). In
short: the Sales-IT agreement (v1, then v2 from Tuesday), one agreement across its versions:
first responses 3 of 3 on time, resolutions 2 of 3 (67%, under 90%), not kept. IT's
agreement with every customer (Legal's request D): 2 of 2 and 2 of 2, kept. So IT kept 1 of
its 2 agreements, and 7 of the 8 clocks under them were met.
"""

import pytest

from core.periods import parse_period
from requests_app.models import SLAClock
from scorecards.compute import METHODOLOGY_VERSION, agreement_figures, agreement_kept
from scorecards.models import ScoreSnapshot
from scorecards.services import scores_compute
from tests.factories import DepartmentFactory, ServiceFactory
from tests.scorecards.agreement_story import NOW, WEEK, at, file

pytestmark = pytest.mark.clock(NOW)


def snapshot(department, counterpart=None, period=WEEK):
    return ScoreSnapshot.objects.get(
        department=department, role="provider", period=period, counterpart=counterpart
    ).figures


def test_the_story_files_its_requests_under_the_agreements_it_says(org, agreement_story):
    agreement_of = {
        name: set(
            SLAClock.objects.filter(request=agreement_story[name]).values_list(
                "agreement", flat=True
            )
        )
        for name in ("a", "b", "c", "d", "h")
    }
    assert agreement_of == {
        "a": {agreement_story["v1"].pk},
        "b": {agreement_story["v1"].pk},
        "c": {agreement_story["v2"].pk},
        "d": {agreement_story["every"].pk},
        "h": {None},
    }


def test_it_counts_the_agreements_a_provider_kept(org, agreement_story):
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    figures = snapshot(org.provider)
    assert figures["agreements_kept"] == 0.5
    assert figures["agreements_kept_n"] == 2
    assert figures["agreement_timeliness"] == 7 / 8
    assert figures["agreement_timeliness_n"] == 8
    # Its timeliness over every clock still counts H (under IT's own target) too.
    assert figures["timeliness_n"] == 10


def test_it_reads_one_agreement_across_its_versions_each_clock_by_its_own(org, agreement_story):
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    sales = snapshot(org.provider)["by_agreement"][str(org.customer.pk)]
    assert sales["customer"] == org.customer.pk
    assert sales["versions"] == [1, 2]
    assert sales["kept"] is False
    assert (sales["first_response_timeliness"], sales["first_response_timeliness_n"]) == (1.0, 3)
    assert (sales["resolution_timeliness"], sales["resolution_timeliness_n"]) == (2 / 3, 3)
    every = snapshot(org.provider)["by_agreement"]["all"]
    assert every["customer"] is None
    assert every["versions"] == [1]
    assert every["kept"] is True
    assert (every["timeliness"], every["timeliness_n"]) == (1.0, 2)


def test_it_gives_each_pair_its_agreements_per_version_and_target(org, agreement_story, service):
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    sales = snapshot(org.provider, org.customer)
    assert (sales["agreements_kept"], sales["agreements_kept_n"]) == (0.0, 1)
    item = sales["by_agreement"][str(org.customer.pk)]
    first, second = item["by_version"]["1"], item["by_version"]["2"]
    assert (first["first_response_timeliness"], first["resolution_timeliness"]) == (1.0, 0.5)
    assert (second["timeliness"], second["timeliness_n"]) == (1.0, 2)
    # Both versions set their targets for every service.
    assert first["targets"] == {
        "all:normal": {
            "first_response_timeliness": 1.0,
            "first_response_timeliness_n": 2,
            "resolution_timeliness": 0.5,
            "resolution_timeliness_n": 2,
        }
    }
    legal = snapshot(org.provider, org.other)
    assert (legal["agreements_kept"], legal["agreements_kept_n"]) == (1.0, 1)
    assert list(legal["by_agreement"]) == ["all"]
    # The agreement with every customer set Laptop's target: its results are Laptop's.
    targets = legal["by_agreement"]["all"]["by_version"]["1"]["targets"]
    assert list(targets) == [f"{service.pk}:normal"]
    # The provider's own snapshot keeps no per-version detail: its scorecard reads twelve.
    assert "by_version" not in snapshot(org.provider)["by_agreement"]["all"]


def test_a_pair_without_an_agreement_has_no_agreement_figures(org, agreement_story):
    facilities = DepartmentFactory(name="Facilities", slug="facilities", code="FAC")
    desk = ServiceFactory(department=facilities, name="Desk")
    file(org.requester, desk, at(0, 9))  # its first response falls due unanswered
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    pair = snapshot(facilities, org.customer)
    assert pair["timeliness_n"] == 2  # both clocks fell due unanswered, by Friday 17:00
    assert "agreements_kept" not in pair
    assert "by_agreement" not in pair
    assert "agreements_kept" not in snapshot(facilities)


def test_a_week_without_clocks_under_an_agreement_counts_none(org, agreement_story):
    # The agreements are in effect in W49 too, but nothing settled under them: neither kept
    # nor broken.
    scores_compute(period=parse_period("2026-W49"), now=at(11, 18))
    assert "agreements_kept" not in snapshot(org.provider, period="2026-W49")


def test_the_kept_rate_is_a_setting(org, agreement_story, settings):
    settings.AGREEMENT_KEPT_RATE = 0.6
    scores_compute(period=parse_period(WEEK), now=at(4, 18))
    assert snapshot(org.provider)["agreements_kept"] == 1.0
    assert snapshot(org.provider)["by_agreement"][str(org.customer.pk)]["kept"] is True


def test_an_agreement_is_kept_when_each_kind_of_clock_reaches_the_rate():
    met = {"met": 9, "settled": 10}
    assert agreement_kept({"first_response": met, "resolution": met}, 0.9)
    assert not agreement_kept(
        {"first_response": {"met": 10, "settled": 10}, "resolution": {"met": 8, "settled": 10}}, 0.9
    )
    # A kind with nothing settled has nothing to keep.
    assert agreement_kept({"first_response": met, "resolution": {"met": 0, "settled": 0}}, 0.9)


def test_a_period_without_clocks_under_agreements_costs_one_query(
    org, service, django_assert_num_queries
):
    file(org.requester, service, at(0, 9))
    with django_assert_num_queries(1):
        assert agreement_figures(parse_period(WEEK), at(4, 18)) == {}


def test_it_costs_two_queries_however_many_agreements_and_clocks(
    org, agreement_story, django_assert_num_queries
):
    with django_assert_num_queries(2):
        figures = agreement_figures(parse_period(WEEK), at(4, 18))
    assert figures[("provider", org.provider.pk, None)]["agreements_kept_n"] == 2


def test_the_methodology_version_says_agreements_changed_the_definitions():
    # 2026.4 added the agreements; 2026.5 (reviews' figures) came after it.
    assert METHODOLOGY_VERSION == "2026.5"
