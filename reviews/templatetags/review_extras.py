from django import template

register = template.Library()


@register.filter
def wall_duration(seconds) -> str:
    """Elapsed wall-clock time: "2 d 3 h", "5 h 20 min", "12 min"."""
    seconds = max(0, int(seconds or 0))
    days, hours, minutes = seconds // 86400, (seconds % 86400) // 3600, (seconds % 3600) // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"
