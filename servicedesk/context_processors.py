from departments.selectors import user_navigation

from .navigation import home_links_for, links_for


def navigation(request):
    """What the navigation bar and the home page show: depends on the viewer's roles."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": None, "nav_links": [], "home_links": {}}
    nav = getattr(request, "_navigation", None)
    if nav is None:
        nav = request._navigation = user_navigation(user=user)
    return {"nav": nav, "nav_links": links_for(nav), "home_links": home_links_for(nav)}
