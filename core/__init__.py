"""Helpers every app imports: input bounds (`limits`), filter pieces (`filters`), fast HTML
formatting (`html`), the client address (`security`), and periods of the calendar
(`periods`). At the bottom of the dependency chain: it imports no app, and every app, the
project package `servicedesk` included, may import it."""
