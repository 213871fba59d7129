import datetime as dt

import pytest
from django.utils import timezone

from dashboards import charts, selectors
from dashboards.selectors import BurnUp, _percentile

pytestmark = pytest.mark.django_db


def test_percentile_nearest_rank():
    values = sorted([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    assert _percentile(values, 0.5) == 5.0
    assert _percentile(values, 0.9) == 9.0
    assert _percentile([], 0.5) is None
    assert _percentile([7.0], 0.9) == 7.0


def test_matrix_flags_inactivity_with_days(seeded):
    world = seeded(progress=0.5)
    later = timezone.now() + dt.timedelta(days=30)
    matrix = selectors.cohort_matrix(cohort=world["cohort"], now=later)
    reasons = dict((row.learner.pk, r) for row, r in matrix.at_risk)
    assert world["learner"].pk in reasons
    assert any(reason.startswith("no activity for") for reason in reasons[world["learner"].pk])


def test_burn_up_counts_and_schedule(seeded):
    world = seeded(progress=1)
    membership = world["cohort"].memberships.get(user=world["learner"])
    overview = selectors.learner_cohort(membership=membership)
    burn = overview.burn_up
    assert burn.weeks == 10
    assert burn.planned == sorted(burn.planned)  # cumulative
    assert burn.approved == sorted(burn.approved)
    assert burn.approved[-1] == overview.approved_count
    assert 0 < burn.current_week <= burn.weeks


def test_charts_use_attributes_not_styles_and_escape_labels():
    svg = charts.bar_chart_svg(
        chart_id="x", title="<b>t</b>", labels=["<i>a</i>", "b"], values=[3, 0], unit="things"
    )
    assert "style=" not in svg and "<i>" not in svg and "&lt;i&gt;" in svg
    assert 'fill="#1d4ed8"' in svg and "<title" in svg and "<desc" in svg
    burn = charts.burn_up_svg(
        BurnUp(weeks=4, current_week=2, planned=[1, 2, 3, 4], approved=[1, 1], total=4),
        chart_id="b",
    )
    assert "stroke-dasharray" in burn and "<circle" in burn and "style=" not in burn
    assert charts.burn_up_svg(BurnUp(0, 0, [], [], 0), chart_id="e") == ""
