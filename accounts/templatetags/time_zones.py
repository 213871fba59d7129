from functools import lru_cache

from django import template
from django.utils.html import format_html, format_html_join

from accounts.zones import zone_names

register = template.Library()


@lru_cache(maxsize=1)
def _datalist():
    options = format_html_join("", '<option value="{}"></option>', ((n,) for n in zone_names()))
    return format_html('<datalist id="time-zone-names">{}</datalist>', options)


@register.simple_tag
def time_zone_datalist():
    """The `time-zone-names` list that accounts.forms.TimeZoneInput searches (once a page)."""
    return _datalist()
