"""What departments tells the apps above it, which it does not import: Django signals.

- `agreement_notice(sender=Agreement, agreement, notice, now)`: a step of an agreement
  (proposed, accepted, declined, withdrawn) is to be told to `notice.users`
  (departments.agreements.notice_for decides who and what); sent inside the step's
  transaction. requests_app writes the in-app notifications and their emails.
"""

from django.dispatch import Signal

agreement_notice = Signal()
