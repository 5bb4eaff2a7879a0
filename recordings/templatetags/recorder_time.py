"""`{{ value|moment }}` and `{{ value|precise_moment }}`: recordings.display.time_text in
templates, so a template writes a moment as every other page does."""

from datetime import datetime

from django import template

from recordings import display

register = template.Library()


@register.filter
def moment(value: datetime | None) -> str:
    return display.time_text(value)


@register.filter
def precise_moment(value: datetime | None) -> str:
    return display.time_text(value, precise=True)
