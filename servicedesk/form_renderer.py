"""How form widgets are drawn: Django's own widget templates with Jinja2, the rest with
Django templates.

Django ships every built-in widget and form layout in both languages, with the same markup;
drawn with Jinja2 they cost about a third (a select is a template per option, and the queue's
filters alone have about sixty). Widgets whose templates exist only for Django templates (the
admin's) are drawn by Django's default renderer, as before.
"""

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class FormRenderer(BaseRenderer):
    def __init__(self):
        self.jinja2 = Jinja2()
        self.django = DjangoTemplates()

    def get_template(self, template_name):
        try:
            return self.jinja2.get_template(template_name)
        except TemplateDoesNotExist:
            return self.django.get_template(template_name)
