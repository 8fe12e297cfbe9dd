"""Log in and land on the dashboard, with its charts drawn in the browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import kolkata, log_in, screenshot, weekday_ahead

pytestmark = pytest.mark.browser

CHARTS = "canvas, svg.chart, .chart svg"
# Per visible chart: [width, height, painted, coloured]. A canvas pixel is painted
# when it has any opacity (an undrawn canvas is all transparent) and coloured when
# it is also far from grey: axes and grid lines are grey, bars of data are not.
# An SVG chart counts its shapes, and those with a fill colour.
CHART_PAINT = f"""() => Array.from(document.querySelectorAll('{CHARTS}'))
  .filter(el => el.getBoundingClientRect().width > 0)
  .map(el => {{
    const box = el.getBoundingClientRect();
    if (el.tagName.toLowerCase() !== 'canvas') {{
      const shapes = Array.from(el.querySelectorAll('path, rect, circle, line'));
      const filled = shapes.filter(s => !['', 'none'].includes(s.getAttribute('fill') || ''));
      return [box.width, box.height, shapes.length * 1000, filled.length * 1000];
    }}
    const data = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
    let painted = 0, coloured = 0;
    for (let i = 0; i < data.length; i += 4) {{
      if (data[i + 3] === 0) continue;
      painted++;
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
    }}
    return [box.width, box.height, painted, coloured];
  }})"""


def test_logging_in_lands_on_the_dashboard_with_its_charts_drawn(page, make_patient, book):
    # Something for the week's chart to show.
    book(make_patient("Dhruv"), kolkata(weekday_ahead(1), 10))

    page.goto("/admin/")
    page.wait_for_url("**/login**")
    screenshot(page, "dashboard_1_login")

    log_in(page)

    assert page.get_by_role("heading", name="Roshni Clinic").is_visible()
    page.wait_for_selector(CHARTS, state="visible")
    # Chart libraries animate in: wait until every chart has paint on it.
    page.wait_for_function(
        f"() => {{ const c = ({CHART_PAINT})(); return c.length && c.some(x => x[3] > 100); }}"
    )
    page.wait_for_timeout(1000)  # let the animation finish for the screenshot
    charts = page.evaluate(CHART_PAINT)
    screenshot(page, "dashboard_2_home")
    for width, height, painted, _ in charts:
        assert width > 50 and height > 50
        assert painted > 100, charts
    # The week's chart shows the booked session as a bar of colour.
    assert any(coloured > 100 for *_, coloured in charts), charts
    # Drawn again once the page's fonts (Mukta for Hindi where the computer has none) are
    # ready, in the page's own fonts: labels measured with the font they are painted in.
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('canvas[data-chart]'))"
        ".every(c => c.getAttribute('data-fonts') === 'ready')"
    )
    assert "Roshni Devanagari" in page.evaluate("() => window.Chart.defaults.font.family")
