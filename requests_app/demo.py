"""Demo history for `manage.py seed_demo`: about six months of requests up to now, so the
pages look alive on first start.

`seed_demo(*, stdout)` is the step that the project's seed_demo command
(servicedesk/management/commands/seed_demo.py) calls after loading the demo organisation,
inside its transaction. It plans the history with
`random.Random(seed)` (same seed, organisation and "now": same history): who files what with
which department and when, and each request's later actions at their instants (first
response, questions and the requester's answers, internal notes, promises, priority changes,
transfers, blocked-by links to requests of third departments, resolutions, reopens, closing,
cancelling). The plan is then replayed in time order across all requests, with the SLA
scanner every simulated hour, by one of two engines:

- `FastReplay` (what seed_demo uses) does what each service function and the scanner do, in
  memory, and writes the rows with a few bulk inserts: months of history in seconds.
- `ServicesReplay` calls the service functions and the scanner with `now=`: by definition
  what the app produces, but a dozen ORM queries per action, minutes for the full history.

tests/requests_app/test_demo.py replays one history both ways and requires identical rows, so
events, clocks, wait periods, links and notifications are exactly what the app would have
written had people used it.

Behaviour differs by department so the scorecards tell a story: IT and Security answer
quickly, Facilities and Legal are slow (Legal is rarely asked), Procurement is often late and
holds others up through blocked-by links; Sales answers its providers' questions slowly.

The history's notifications are marked as emailed (and as read when older than two days), so
a worker started afterwards sends no emails about the past.

Size and seed: settings DEMO_HISTORY_WEEKS, DEMO_HISTORY_REQUESTS_PER_WEEK and
DEMO_HISTORY_SEED (environment variables of the same names); 0 weeks adds no history.
"""

from __future__ import annotations

import datetime
import heapq
import random
import re
import time
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Count, F, Q
from django.utils import timezone

from departments.business_time import add_business_seconds, business_seconds_between
from departments.choices import Priority, Role
from departments.models import Department, Membership, Service
from departments.services import calendar_version_current

from . import lifecycle, services, workflow
from .choices import OPEN_STATUSES, ClockKind, ClockState, EventKind, Status
from .clocks import clock_refresh, request_due_times
from .models import (
    Comment,
    Notification,
    RequestEvent,
    RequestLink,
    ServiceRequest,
    SLAClock,
    WaitPeriod,
)
from .scanner import sla_clocks_scan
from .selectors import PROVIDER_ROLES, clock_targets, provider_staff, visible_by_rule
from .workflow import clock_crossing, sla_recipients

DEFAULT_WEEKS = 26
DEFAULT_REQUESTS_PER_WEEK = 115
DEFAULT_SEED = 2026

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR
# The scanner runs every minute in production; hourly is close enough for history.
SCAN_EVERY = datetime.timedelta(hours=1)
# Resolved requests are closed by their agent when nobody objected for this long.
AUTO_CLOSE_AFTER = datetime.timedelta(days=10)
NOTIFICATIONS_UNREAD_FOR = datetime.timedelta(days=2)
NOTIFICATION_READ_AFTER = datetime.timedelta(hours=3)
PROGRESS_EVERY = datetime.timedelta(weeks=4)

PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
PRIORITY_MIX = {Priority.LOW: 20, Priority.NORMAL: 50, Priority.HIGH: 22, Priority.URGENT: 8}

# Shares of all requests (quotas, so that a small history has some of each too).
REOPEN_SHARE = 0.05
CANCEL_SHARE = 0.03
TRANSFER_SHARE = 0.024  # some are not possible (filed by the right department itself)
BLOCKED_SHARE = 0.012
PROMISE_SHARE = 0.15
PROMISE_BROKEN = 0.25
PRIORITY_CHANGE_SHARE = 0.05


# --- how each department works ---------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """How a provider works: how much it is asked, how often late, how fast when on time."""

    volume: float  # relative number of requests it gets
    first_late: float  # probability the first response comes after its due time
    resolution_late: float  # probability the resolution comes after its due time
    pace: float  # mean fraction of a target used when on time (lower is faster)
    asks: float  # probability of asking the requester something (waiting on requester)


BEHAVIOUR = {
    "it": Behaviour(volume=30, first_late=0.04, resolution_late=0.07, pace=0.3, asks=0.3),
    "security": Behaviour(volume=6, first_late=0.03, resolution_late=0.05, pace=0.3, asks=0.2),
    "facilities": Behaviour(volume=21, first_late=0.2, resolution_late=0.3, pace=0.6, asks=0.2),
    "procurement": Behaviour(volume=9, first_late=0.12, resolution_late=0.24, pace=0.55, asks=0.35),
    "finance": Behaviour(volume=10, first_late=0.07, resolution_late=0.12, pace=0.45, asks=0.35),
    "hr": Behaviour(volume=10, first_late=0.06, resolution_late=0.1, pace=0.4, asks=0.3),
    "legal": Behaviour(volume=3, first_late=0.22, resolution_late=0.33, pace=0.65, asks=0.45),
    "marketing": Behaviour(volume=7, first_late=0.1, resolution_late=0.15, pace=0.5, asks=0.4),
    "sales": Behaviour(volume=4, first_late=0.08, resolution_late=0.12, pace=0.45, asks=0.3),
}
DEFAULT_BEHAVIOUR = Behaviour(volume=3, first_late=0.1, resolution_late=0.15, pace=0.5, asks=0.3)

# Median business hours a requesting department takes to answer a question (customer side).
ANSWER_HOURS = {
    "sales": 9.0,
    "marketing": 5.0,
    "legal": 4.0,
    "operations": 3.0,
    "facilities": 3.0,
    "hr": 2.5,
    "procurement": 2.5,
    "finance": 1.5,
    "it": 1.0,
    "security": 1.0,
}

# --- what people write -----------------------------------------------------------------------

FILLERS = {
    "person": [
        "Anna Schulz",
        "Mark Jensen",
        "Fatima Aziz",
        "Leon Richter",
        "Grace Liu",
        "Tom Baker",
        "Nora Weiß",
        "Pedro Alves",
        "Hanna Kowalski",
        "Sam Patel",
    ],
    "first": ["Anna", "Mark", "Fatima", "Leon", "Grace", "Tom", "Nora", "Pedro", "Sam"],
    "floor": ["2nd floor", "3rd floor", "4th floor", "ground floor", "5th floor"],
    "room": ["3.12", "2.04", "4.21", "Atlas", "Orion", "1.07", "Kepler", "5.02"],
    "app": ["Adobe Acrobat Pro", "Tableau", "Visio", "JetBrains IntelliJ", "Miro", "SPSS", "Figma"],
    "device": [
        "14-inch laptop",
        "27-inch monitor",
        "docking station",
        "headset",
        "iPhone",
        "ergonomic keyboard",
    ],
    "supplier": [
        "Nordlicht Catering",
        "Bürowelt GmbH",
        "Acme Cloud Ltd",
        "Kranich Logistics",
        "Bluepeak Consulting",
        "Printhaus Berlin",
    ],
    "customer": [
        "Hansen Maritime",
        "Rivera Foods",
        "Klein & Partner",
        "Atlas Retail",
        "Orbis Health",
    ],
    "event": ["the Hannover fair", "the customer day in May", "the partner summit", "DMEXCO"],
    "city": ["Hamburg", "Munich", "New York", "Vienna", "Zurich", "Chicago"],
    "month": ["January", "March", "April", "June", "September", "October"],
    "amount": ["240.50", "1,180.00", "86.90", "3,420.00", "612.30", "54.00"],
    "quarter": ["Q1", "Q2", "Q3", "Q4"],
    "project": [
        "the CRM migration",
        "Project Falcon",
        "the new customer portal",
        "the ERP upgrade",
    ],
    "repair": ["the air conditioning", "the lift", "the kitchen dishwasher", "the blinds"],
    "group": ["Sales-DACH", "Finance-Controlling", "Marketing-Shared", "Projects-2026"],
    "seats": ["3", "5", "10", "12"],
}

# Service name -> (relative volume within its department, share confidential, [(title, body)]).
SERVICE_TEXTS: dict[str, tuple[float, float, list[tuple[str, str]]]] = {
    # IT
    "Laptop and hardware": (
        5,
        0,
        [
            (
                "Laptop battery drains within an hour",
                "My laptop lasts about an hour on battery since last week. "
                "It is 3 years old; can I get a new battery or a replacement?",
            ),
            (
                "Second monitor for my desk",
                "Could I get a {device} for my desk on the {floor} (room {room})?\n\n"
                "My manager agreed.",
            ),
            (
                "Docking station does not detect the screens",
                "Since the update on Monday the docking station in room {room} no longer "
                "detects the two screens.\n\n- tried another cable\n- restarted twice",
            ),
            (
                "Hardware for new team member {person}",
                "{person} starts on the 1st. Needed:\n\n- {device}\n- headset\n- docking station",
            ),
        ],
    ),
    "Software installation": (
        3,
        0,
        [
            (
                "Install {app}",
                "I need **{app}** for {project}. It is not in the self-service catalogue.",
            ),
            ("Licence for {app}", "Our team needs {seats} licences of {app} from next month."),
            ("Update {app} to the current version", "The version on my laptop is too old."),
        ],
    ),
    "Accounts and access": (
        5,
        0,
        [
            (
                "Access to the {group} shared drive",
                "Please add me to the **{group}** group; I took over work from {person}.",
            ),
            (
                "Account for intern {person}",
                "{person} starts as an intern on Monday and needs an account and email.",
            ),
            ("Remove access for {person}", "{person} left the team on Friday."),
            ("Read access to the BI dashboards", "I need read access to the sales dashboards."),
            ("Shared mailbox for the {group} team", "Please set up a shared mailbox; owner: me."),
        ],
    ),
    "Password reset and MFA": (
        6,
        0,
        [
            ("Locked out after password change", "I changed my password and now I'm locked out."),
            (
                "New phone, need to move my MFA",
                "I got a new phone and the authenticator app did not move over.",
            ),
            ("Password expired while travelling", "I'm in {city} and my password expired."),
            (
                "MFA prompts keep coming although I did not log in",
                "Since this morning I get MFA prompts every few minutes. **I did not approve "
                "any of them.**",
            ),
            ("Account locked after holiday", "Back from holiday and my account is locked."),
        ],
    ),
    "Network and Wi-Fi": (
        4,
        0,
        [
            (
                "Wi-Fi drops on the {floor}",
                "The Wi-Fi on the {floor} keeps dropping every few minutes, "
                "mostly near room {room}.",
            ),
            ("VPN disconnects every hour", "The VPN disconnects roughly every hour at home."),
            ("No network in meeting room {room}", "The wall sockets in {room} give no network."),
            (
                "Guest Wi-Fi for visitors on Thursday",
                "We have 8 visitors from {customer} on Thursday; they need guest Wi-Fi.",
            ),
        ],
    ),
    "Printing": (
        3,
        0,
        [
            ("Printer on the {floor} jams", "The printer next to room {room} jams on every job."),
            ("Cannot scan to email", "Scanning to email fails with 'SMTP error'."),
            ("Toner empty on the {floor}", "The colour printer on the {floor} is out of toner."),
            ("Add the {floor} printer to my laptop", "I moved desks and can't find the printer."),
        ],
    ),
    # Security Operations
    "Report a suspicious email": (
        5,
        0,
        [
            (
                "Suspicious invoice email from {supplier}",
                "I received an 'overdue invoice' from a lookalike address of {supplier} "
                "with a zip attachment. I did **not** open it.",
            ),
            (
                "Phishing: fake Microsoft login page",
                "A link in an email led to a login page that looked like ours. "
                "I entered my username but not my password.",
            ),
            ("CEO fraud attempt", "Someone posing as our CEO asked me to buy gift cards."),
        ],
    ),
    "Security incident": (
        2,
        0.3,
        [
            ("Laptop stolen on a business trip", "My laptop was stolen from the car in {city}."),
            (
                "Possible malware on my laptop",
                "Pop-ups and a browser extension I never installed since yesterday.",
            ),
            (
                "Customer list sent to the wrong recipient",
                "An export with **customer contacts** went to an external address by mistake.",
            ),
        ],
    ),
    "Access review": (
        1,
        0,
        [
            ("Quarterly access review for {group}", "Please run the {quarter} review for {group}."),
            ("Review admin rights in the CRM", "Who still needs admin rights in the CRM?"),
        ],
    ),
    "Security advice for a project": (
        1,
        0,
        [
            (
                "Security requirements for {project}",
                "We are planning {project} and need your requirements before we pick a vendor.",
            ),
            (
                "Is {supplier} OK to store customer data?",
                "We want to use {supplier}'s cloud service for customer data.",
            ),
        ],
    ),
    # Facilities
    "Repairs and maintenance": (
        6,
        0,
        [
            (
                "Heating not working in room {room}",
                "The radiator in room {room} stays cold; it is 17 degrees.",
            ),
            ("Broken light in the {floor} kitchen", "Two ceiling lights are out in the kitchen."),
            ("Too hot in room {room}", "It's 28 degrees in {room} in the afternoon."),
            ("Leaking tap in the {floor} toilets", "The tap in the men's toilets keeps dripping."),
            (
                "Blinds stuck in room {room}",
                "The blinds in {room} are stuck half down.\n\n- tried the switch\n"
                "- the motor hums but nothing moves",
            ),
            ("Door of room {room} does not close", "The door of room {room} does not latch."),
            (
                "Repair {repair} on the {floor}",
                "{repair} on the {floor} has been broken since Monday.",
            ),
        ],
    ),
    "Desk and office moves": (
        2,
        0,
        [
            (
                "Team move to the {floor}",
                "Our team (6 people) moves to the {floor} on the 15th.\n\n"
                "1. desks and chairs\n2. monitors\n3. pedestals",
            ),
            ("Standing desk for {person}", "{person} needs a standing desk (medical reasons)."),
        ],
    ),
    "Meeting room and event setup": (
        3,
        0,
        [
            (
                "Room {room} for a workshop on Thursday",
                "Workshop with 20 people: U-shape, two flipcharts, coffee and lunch.",
            ),
            (
                "Catering for the visit of {customer}",
                "Lunch for 12 people on Wednesday, ideally from {supplier}.",
            ),
            ("Town hall setup in the atrium", "Chairs for 120, stage, two microphones."),
        ],
    ),
    "Access badges and keys": (
        3,
        0,
        [
            ("Badge does not open the {floor} door", "My badge stopped working on the {floor}."),
            ("Visitor passes for Tuesday", "Three visitors from {customer} on Tuesday, 10:00."),
            ("Lost my badge", "I lost my badge yesterday, probably on the way home."),
        ],
    ),
    "Cleaning": (
        2,
        0,
        [
            ("Coffee spilled on the carpet in {room}", "A full pot of coffee went over in {room}."),
            (
                "Extra cleaning after the event",
                "The atrium needs cleaning after yesterday's event.",
            ),
        ],
    ),
    # Procurement
    "Purchase order": (
        5,
        0,
        [
            ("Order {seats} {device}s", "Please order {seats} {device}s from our usual supplier."),
            ("PO for {supplier}", "We need a purchase order for {supplier} for {project}."),
            (
                "Order office chairs for the {floor}",
                "Six office chairs, same model as the rest of the floor.",
            ),
        ],
    ),
    "New supplier onboarding": (
        2,
        0,
        [
            (
                "Onboard {supplier} as a supplier",
                "We'd like to work with **{supplier}** for {project}. They sent their "
                "company details and bank confirmation.",
            ),
        ],
    ),
    "Quote comparison": (
        2,
        0,
        [
            ("Quotes for {repair}", "We need three quotes for {repair}; budget around EUR 15k."),
            ("Compare offers for {project}", "Two offers attached; please compare and advise."),
        ],
    ),
    "Supplier contract renewal": (
        1,
        0,
        [
            ("Renew the contract with {supplier}", "The contract with {supplier} ends in {month}."),
            ("End the contract with {supplier}", "We no longer need {supplier} after {month}."),
        ],
    ),
    # Finance
    "Invoice payment": (
        4,
        0,
        [
            (
                "Invoice from {supplier} not paid",
                "{supplier} says invoice 2026-{seats}41 (EUR {amount}) is overdue.",
            ),
            ("Payment run for {supplier}", "Can {supplier}'s invoice go in this week's run?"),
        ],
    ),
    "Expense reimbursement": (
        4,
        0,
        [
            (
                "Travel expenses {city} not reimbursed",
                "My expenses for the trip to {city} (EUR {amount}) from {month} are still open.",
            ),
            ("Reimbursement for a training course", "I paid EUR {amount} for a course myself."),
        ],
    ),
    "Budget report": (
        2,
        0,
        [
            ("{quarter} budget report for our cost centre", "Actuals vs. budget for {quarter}."),
            ("Forecast for {project}", "Please prepare the forecast for {project} until year end."),
        ],
    ),
    "Cost centre change": (
        1,
        0,
        [
            ("New cost centre for {project}", "We need a cost centre for {project}."),
            ("Change cost centre owner", "{person} takes over the cost centre from next month."),
        ],
    ),
    # Human Resources
    "Employment certificate": (
        2,
        0.3,
        [
            ("Employment certificate for my landlord", "My new landlord asks for a certificate."),
            ("Salary statement for a loan", "My bank needs salary statements for 3 months."),
        ],
    ),
    "Onboarding a new hire": (
        3,
        0,
        [
            (
                "Onboarding {person} on the 1st",
                "{person} joins our team on the 1st.\n\n- contract signed\n"
                "- needs laptop and accounts\n- buddy: me",
            ),
        ],
    ),
    "Leave and absence": (
        3,
        0.4,
        [
            ("Parental leave from {month}", "I'd like to take parental leave from {month}."),
            ("Holiday balance looks wrong", "My balance shows 4 days less than I expected."),
        ],
    ),
    "Payroll question": (
        2,
        0.6,
        [
            ("Overtime missing on my payslip", "My overtime from {month} is not on the payslip."),
            ("Tax class changed", "I got married; my tax class changed from this month."),
        ],
    ),
    "Training request": (
        2,
        0,
        [
            ("Conference ticket for {event}", "I'd like to attend {event} (EUR {amount})."),
            ("Excel advanced course", "Is there an advanced Excel course I can join?"),
        ],
    ),
    # Legal
    "Contract review": (
        3,
        0.2,
        [
            (
                "Review the MSA with {customer}",
                "{customer} sent their master services agreement. **Signature planned "
                "end of month.** Main points: liability cap, payment terms.",
            ),
            ("Supplier terms of {supplier}", "Please review {supplier}'s terms before we sign."),
        ],
    ),
    "Non-disclosure agreement": (
        3,
        0,
        [
            ("NDA with {customer}", "Standard mutual NDA with {customer} for first talks."),
            ("NDA for a candidate", "A candidate will see our roadmap; we need an NDA."),
        ],
    ),
    "Data protection question": (
        2,
        0.2,
        [
            ("Data subject request from a customer", "A customer asks what data we hold on them."),
            (
                "Can we use {supplier} for newsletters?",
                "Do we need a data processing agreement with {supplier}?",
            ),
        ],
    ),
    "Trademark and IP": (
        1,
        0,
        [
            ("Can we use this photo?", "We found a photo for the {event} flyer; is it OK?"),
            ("Trademark check for a product name", "Is 'Falcon' free as a product name?"),
        ],
    ),
    # Marketing
    "Design request": (
        4,
        0,
        [
            ("Slides for the {customer} pitch", "Need a designed deck (12 slides) by Friday."),
            ("Flyer for {event}", "A4 flyer, two-sided, for {event}."),
        ],
    ),
    "Campaign support": (
        2,
        0,
        [
            ("Email campaign for {city}", "An email campaign for customers in {city}."),
            ("LinkedIn posts for the launch", "Three posts for the launch of {project}."),
        ],
    ),
    "Website update": (
        3,
        0,
        [
            ("Job posting: {person}'s position", "Please publish the attached job ad."),
            ("Update the team page", "{person} joined; please add them to the team page."),
        ],
    ),
    "Event support": (
        2,
        0,
        [
            ("Booth for {event}", "We have a booth at {event}; need material and a stand."),
            ("Customer event in {city}", "Customer evening in {city} for about 40 guests."),
        ],
    ),
    "Press release": (
        1,
        0,
        [("Press release: partnership with {customer}", "Announce the partnership next week.")],
    ),
    # Sales
    "Customer reference": (
        1,
        0,
        [("Reference customer in {city}", "A prospect wants to talk to a customer in {city}.")],
    ),
    "Pricing and discount approval": (
        3,
        0.2,
        [
            ("Discount of 15% for {customer}", "{customer} asks for 15% on a 3-year deal."),
            ("Special payment terms for {customer}", "{customer} wants 60 days payment terms."),
        ],
    ),
    "CRM data export": (
        2,
        0,
        [
            ("Pipeline export for {quarter}", "All open opportunities for {quarter} as Excel."),
            ("Customer list for {city}", "All active customers in {city} with contacts."),
        ],
    ),
    "Account handover": (
        1,
        0,
        [("Hand over {customer} to {person}", "I'm moving teams; {person} takes {customer}.")],
    ),
}
GENERIC_TEXTS = [("Question about {project}", "Could you help us with {project}?")]

FIRST_REPLIES = [
    "Thanks {first}, I'm on it and will get back to you today.",
    "Hi {first}, thanks for the details. Looking into it now.",
    "Got it, {first}. I'll take care of this.",
    "Thanks, received. I'll update you as soon as I know more.",
    "Hi {first}, we're on it.",
]
QUESTIONS = {
    "it": [
        "Could you send me the asset tag of the device (sticker on the bottom)?",
        "Which operating system version do you have? (Settings > About)",
        "Does it happen on the office network only, or at home too?",
        "Can your manager approve this in a reply here?",
    ],
    "security": [
        "Please forward the original email as an attachment (not inline).",
        "When exactly did you notice it, and which devices were affected?",
    ],
    "facilities": [
        "Which room exactly, and can we get in tomorrow morning?",
        "Is the room free on Friday afternoon so we can do it then?",
    ],
    "procurement": [
        "Which cost centre should we charge, and who approves?",
        "Do you have a quote or a link to the item?",
    ],
    "finance": [
        "Could you attach the receipts as one PDF?",
        "Which cost centre does this belong to?",
    ],
    "hr": ["Could you confirm the start date?", "Which address should we send it to?"],
    "legal": [
        "Could you send the latest version as Word, with their changes tracked?",
        "What's the deadline for signature, and who signs on our side?",
    ],
    "marketing": [
        "Do you have the final texts and the logo files?",
        "What's the deadline, and how many copies?",
    ],
    "sales": ["Which region and period exactly?", "Who is the account owner today?"],
}
ANSWERS = [
    "Sure, here it is. Let me know if you need anything else.",
    "Done, I attached it to the shared folder.",
    "Yes, that works for me.",
    "Sorry for the delay, I was travelling. Details:\n\n- as discussed\n- ok for Thursday",
    "My manager approved it, see below.",
    "It happens in the office only, at home it works.",
]
REMINDERS = [
    "Just a reminder: we still need the information above to continue.",
    "Hi {first}, any news on this? We can't go on without it.",
]
NOTES = {
    "it": [
        "Vendor ticket opened with the manufacturer; replacement ETA Thursday.",
        "Same issue as last month on that floor: probably the access point.",
        "Needs approval from the cost centre owner before we order.",
    ],
    "security": [
        "Sender domain blocked on the gateway. 3 other recipients.",
        "Checked sign-in logs: no suspicious logins.",
    ],
    "facilities": [
        "External contractor booked; they can come next week at the earliest.",
        "Spare parts ordered, delivery 3-5 days.",
    ],
    "procurement": [
        "Waiting for the supplier's updated quote.",
        "Above EUR 10k: needs a second quote by policy.",
    ],
    "finance": ["Invoice was booked on the wrong cost centre; correcting."],
    "hr": ["Checked with payroll provider; correction in next run."],
    "legal": ["Liability cap is the sticking point; escalated to the General Counsel."],
    "marketing": ["Design slot booked for Wednesday."],
    "sales": ["CRM export needs admin rights; doing it tonight."],
}
RESOLUTIONS = {
    "it": [
        "Done: replaced and tested. Please let me know if anything is still off.",
        "Fixed, it should work again. You may need to restart once.",
        "Access granted; it can take 15 minutes to show up.",
    ],
    "security": [
        "Analysed: it was phishing. Blocked for everyone. Thanks for reporting!",
        "Closed the case; no data left the company.",
    ],
    "facilities": [
        "Repaired by our technician this morning.",
        "All set up as requested.",
        "Done. Thanks for your patience.",
    ],
    "procurement": ["Order placed, PO number sent by email.", "Supplier set up in the ERP."],
    "finance": ["Paid with today's run.", "Reimbursed; it will be on your account in 2-3 days."],
    "hr": ["Sent to you by email.", "Corrected; the difference comes with the next payslip."],
    "legal": [
        "Reviewed: ok to sign with the two changes marked in the document.",
        "NDA signed by both sides, copy in the contract database.",
    ],
    "marketing": ["Final version attached.", "Published."],
    "sales": ["Export sent to you.", "Approved, see the comment in the CRM."],
}
REOPENS = [
    "Sorry, the problem is back since this morning.",
    "It worked for a day, now it fails again.",
    "This is not what I asked for, could you have another look?",
]
CANCELS = [
    "No longer needed, we sorted it out in the team.",
    "Please cancel, the project was postponed.",
    "Duplicate of another request, cancelling this one.",
]
TRANSFER_NOTES = [
    "This one is for {department}; I've moved it over to them.",
    "Hi {first}, {department} handles this, so I transferred it.",
]
BLOCKED_NOTES = [
    "Blocked by {blocker}; continuing as soon as that is done.",
    "Filed {blocker} for this; waiting on it.",
]
UNBLOCKED_REPLIES = ["{blocker} is done, so we could finish this.", "Finished, thanks for waiting."]

# Filed at the wrong place: (wrong department service, right department service).
TRANSFERS = [
    ("Accounts and access", "Access badges and keys"),
    ("Repairs and maintenance", "Printing"),
    ("Repairs and maintenance", "Network and Wi-Fi"),
    ("Invoice payment", "Purchase order"),
    ("Training request", "Expense reimbursement"),
    ("Password reset and MFA", "Report a suspicious email"),
    ("Contract review", "Supplier contract renewal"),
    ("Budget report", "CRM data export"),
]

# Blocked request's service -> [(blocking service, title, description)], filed by its agent.
BLOCKERS: dict[str, list[tuple[str, str, str]]] = {
    "Laptop and hardware": [
        ("Purchase order", "PO: {device} for {person}", "Please order a {device} for {person}."),
    ],
    "Software installation": [
        ("Purchase order", "Licence purchase: {app} ({seats} seats)", "Quote attached."),
    ],
    "Desk and office moves": [
        ("Purchase order", "Furniture for the move to the {floor}", "Six desks and chairs."),
    ],
    "Repairs and maintenance": [
        ("Quote comparison", "Quotes for {repair}", "We need quotes to repair {repair}."),
    ],
    "Onboarding a new hire": [
        ("Laptop and hardware", "Laptop for new hire {person}", "Start date next month."),
        ("Accounts and access", "Accounts for new hire {person}", "Email, VPN and drives."),
    ],
    "New supplier onboarding": [
        ("Contract review", "Framework agreement with {supplier}", "Their draft attached."),
        ("Security advice for a project", "Security check of {supplier}", "Cloud service."),
    ],
    "Purchase order": [
        ("Contract review", "Terms and conditions of {supplier}", "Needed before the PO."),
    ],
    "Pricing and discount approval": [
        ("Contract review", "Non-standard terms for {customer}", "Deal closes this month."),
    ],
    "Event support": [
        ("Purchase order", "Booth construction for {event}", "Offer from {supplier}."),
    ],
    "Supplier contract renewal": [
        ("Contract review", "Renewal terms of {supplier}", "Their new draft attached."),
    ],
}
MAX_BLOCK_DEPTH = 2

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _fill(rng: random.Random, text: str, values: dict) -> str:
    """Replace {placeholders} from `values`, else with a random filler (the same key, the
    same choice within one request); unknown ones ({blocker}) are left for later."""

    def replace(match):
        key = match.group(1)
        if key not in values and key in FILLERS:
            values[key] = rng.choice(FILLERS[key])
        return str(values.get(key, match.group(0)))

    return _PLACEHOLDER.sub(replace, text)


# --- the plan --------------------------------------------------------------------------------


@dataclass
class Step:
    at: datetime.datetime
    action: str
    args: dict


@dataclass
class Plan:
    """One request to be: what is filed, and every later action at its instant."""

    order: int
    requester: object
    service: Service
    priority: str
    title: str
    description: str
    confidential: bool
    steps: list[Step] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def add(self, at: datetime.datetime, action: str, /, **args) -> datetime.datetime:
        """Append a step; instants within a request strictly increase (a minute apart)."""
        if self.steps and at <= self.steps[-1].at:
            at = self.steps[-1].at + datetime.timedelta(minutes=1)
        self.steps.append(Step(at=at, action=action, args=args))
        return at


@dataclass
class Provider:
    department: Department
    calendar: object  # CalendarVersion: the clocks' calendar
    behaviour: Behaviour
    agents: list
    agent_weights: list
    managers: list
    services: list
    service_weights: list


@dataclass
class Person:
    user: object
    department: Department
    calendar: object
    weight: float


@dataclass
class Outcome:
    """What the replay did, for the summary."""

    failures: list = field(default_factory=list)
    scans: int = 0
    warned: int = 0
    breached: int = 0
    actions: Counter = field(default_factory=Counter)


class HistoryPlanner:
    """Plans the requests of `weeks` weeks up to `now` with one random generator."""

    def __init__(self, *, rng: random.Random, now: datetime.datetime, weeks: int):
        self.rng = rng
        self.now = now
        self.start = now - datetime.timedelta(weeks=weeks)
        self.weeks = weeks
        self.plans: list[Plan] = []
        self._targets: dict = {}
        self._load_org()

    # --- the organisation --------------------------------------------------------------------

    def _load_org(self) -> None:
        departments = list(
            Department.objects.select_related("calendar")
            .prefetch_related("calendar__working_hours", "calendar__holidays")
            .order_by("pk")
        )
        versions = {}
        for department in departments:
            key = department.calendar_id
            if key not in versions:
                versions[key] = calendar_version_current(calendar=department.calendar)
        by_pk = {d.pk: d for d in departments}
        self.calendar_of = {d.pk: versions[d.calendar_id] for d in departments}
        memberships = list(
            Membership.objects.filter(user__is_active=True)
            .select_related("user")
            .order_by("department_id", "user__username")
        )
        self.people: list[Person] = []
        staff_of: dict[int, dict[str, list]] = {}
        for membership in memberships:
            department = by_pk[membership.department_id]
            staff_of.setdefault(department.pk, {Role.AGENT: [], Role.MANAGER: []})
            if membership.role in (Role.AGENT, Role.MANAGER):
                staff_of[department.pk][membership.role].append(membership.user)
            if membership.is_primary:
                user = membership.user
                # The demo logins file and work more, so their pages are the liveliest.
                weight = {"staff": 5, "hr": 2, "manager": 0.5}.get(user.username)
                if weight is None:
                    weight = 2 if membership.role == Role.MEMBER else 1
                self.people.append(
                    Person(user, department, self.calendar_of[department.pk], weight)
                )
        self.people.sort(key=lambda p: p.user.username)
        self.primary_of = {p.user.pk: p for p in self.people}

        services_by_department: dict[int, list[Service]] = {}
        for service in (
            Service.objects.filter(active=True, department__is_provider=True)
            .select_related("department")
            .order_by("pk")
        ):
            service.department = by_pk[service.department_id]  # with its prefetched calendar
            services_by_department.setdefault(service.department_id, []).append(service)
        self.services_by_department = services_by_department  # active, of providers
        self.providers: list[Provider] = []
        self.service_by_name: dict[str, Service] = {}
        for department in departments:
            offered = services_by_department.get(department.pk)
            staff = staff_of.get(department.pk, {Role.AGENT: [], Role.MANAGER: []})
            if not department.is_provider or not offered:
                continue
            agents = staff[Role.AGENT] or staff[Role.MANAGER]
            if not agents:
                continue
            for service in offered:
                self.service_by_name.setdefault(service.name, service)
            self.providers.append(
                Provider(
                    department=department,
                    calendar=self.calendar_of[department.pk],
                    behaviour=BEHAVIOUR.get(department.slug, DEFAULT_BEHAVIOUR),
                    agents=agents,
                    agent_weights=[3 if a.username == "agent" else 1 for a in agents],
                    managers=staff[Role.MANAGER] or agents,
                    services=offered,
                    service_weights=[SERVICE_TEXTS.get(s.name, (1,))[0] for s in offered],
                )
            )
        self.provider_of = {p.department.pk: p for p in self.providers}

    def targets(self, service: Service, priority: str) -> dict[str, int]:
        """selectors.clock_targets, looked up once per service and priority."""
        key = (service.pk, priority)
        if key not in self._targets:
            self._targets[key] = clock_targets(service, priority)
        return self._targets[key]

    # --- random pieces -----------------------------------------------------------------------

    def pick(self, items, weights=None):
        return self.rng.choices(items, weights=weights)[0] if weights else self.rng.choice(items)

    def later(self, calendar, start, seconds) -> datetime.datetime:
        """`seconds` of business time after `start` in `calendar`."""
        return add_business_seconds(calendar, start, max(1, int(seconds)))

    def on_time_fraction(self, pace: float) -> float:
        """The share of a target used by work that is on time: mean about `pace`."""
        a = 2.0
        b = a * (1 - pace) / pace
        return 0.03 + 0.94 * self.rng.betavariate(a, b)

    def late_fraction(self) -> float:
        return min(4.0, 1.03 + self.rng.expovariate(1 / 0.5))

    def answer_delay(self, person: Person) -> float:
        """Business seconds a requester takes to answer (log-normal around the median)."""
        median = ANSWER_HOURS.get(person.department.slug, 3.0) * HOUR
        return min(8 * DAY, max(10 * MINUTE, self.rng.lognormvariate(0, 0.9) * median))

    def filing_instant(self, person: Person) -> datetime.datetime:
        """A moment in the history window: working days in working hours of the requester's
        calendar mostly, some early, late or weekend filings."""
        calendar = person.calendar
        span_days = (self.now - self.start).days + 1
        for _ in range(200):
            day = self.start + datetime.timedelta(days=self.rng.randrange(span_days))
            midnight = day.astimezone(zoneinfo.ZoneInfo(calendar.timezone)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            next_midnight = midnight + datetime.timedelta(days=1)
            working = business_seconds_between(calendar, midnight, next_midnight)
            roll = self.rng.random()
            if working and roll < 0.93:
                instant = add_business_seconds(
                    calendar, midnight, self.rng.randrange(1, working + 1)
                )
            elif (working and roll < 0.99) or roll < 0.03:
                # Before work, in the evening, or on a weekend.
                hour = self.rng.choice([7, 8, 18, 19, 20, 21, 22])
                instant = midnight.replace(hour=hour, minute=self.rng.randrange(60))
            else:
                continue
            instant = instant.replace(microsecond=0)
            if self.start <= instant <= self.now:
                return instant.astimezone(datetime.UTC)
        return (self.now - datetime.timedelta(hours=1)).replace(microsecond=0)

    def pick_priority(self, service: Service) -> str:
        if service.name == "Security incident" or self.rng.random() < 0.6:
            return service.default_priority
        return self.pick(list(PRIORITY_MIX), list(PRIORITY_MIX.values()))

    def texts(self, plan_values: dict, service: Service) -> tuple[str, str]:
        entries = SERVICE_TEXTS.get(service.name, (1, 0, GENERIC_TEXTS))[2]
        title, body = self.rng.choice(entries)
        return _fill(self.rng, title, plan_values)[:200], _fill(self.rng, body, plan_values)

    def requester_for(self, provider: Provider, *, exclude=()) -> Person:
        candidates = [
            p
            for p in self.people
            if p.department.pk != provider.department.pk and p.department.pk not in exclude
        ]
        return self.pick(candidates, [p.weight for p in candidates])

    # --- planning ----------------------------------------------------------------------------

    def plan(self, *, count: int) -> list[Plan]:
        """Plan `count` requests (plus the requests their agents file for blocked-by links)."""
        providers = self.providers
        seeds = []
        for _ in range(count):
            provider = self.pick(providers, [p.behaviour.volume for p in providers])
            service = self.pick(provider.services, provider.service_weights)
            person = self.requester_for(provider)
            seeds.append((self.filing_instant(person), provider, service, person))
        seeds.sort(key=lambda seed: seed[0])

        # Special fates by quota among requests old enough for them to have happened.
        def eligible(days, predicate=lambda seed: True):
            cutoff = self.now - datetime.timedelta(days=days)
            return [i for i, seed in enumerate(seeds) if seed[0] < cutoff and predicate(seed)]

        def quota(share, candidates, taken):
            free = [i for i in candidates if i not in taken]
            chosen = self.rng.sample(free, min(len(free), max(2, round(share * count))))
            return set(chosen)

        taken: set[int] = set()
        transfer_pairs = [
            (wrong, right)
            for wrong, right in TRANSFERS
            if wrong in self.service_by_name and right in self.service_by_name
        ]
        wrong_names = {wrong for wrong, _ in transfer_pairs}
        transfers = quota(TRANSFER_SHARE, eligible(2, lambda s: s[2].name in wrong_names), taken)
        taken |= transfers
        blocked = quota(
            BLOCKED_SHARE,
            eligible(3, lambda s: self.blockers_of(s[2], s[1].department) != []),
            taken,
        )
        taken |= blocked
        reopened = quota(REOPEN_SHARE, eligible(4), taken)
        taken |= reopened
        cancelled = quota(CANCEL_SHARE, eligible(1), taken)

        for index, (filed_at, provider, service, person) in enumerate(seeds):
            fate = {
                "transfer": index in transfers,
                "blocked": index in blocked,
                "reopen": index in reopened,
                "cancel": index in cancelled,
            }
            if fate["transfer"]:
                right = self.pick([r for w, r in transfer_pairs if w == service.name])
                right_service = self.service_by_name[right]
                customer = person.department.pk
                if customer == right_service.department_id:
                    fate["transfer"] = False
                else:
                    self.plan_transferred(filed_at, provider, service, person, right_service)
                    continue
            self.plan_request(filed_at, provider, service, person, fate=fate)
        self.plans.sort(key=lambda plan: (plan.steps[0].at, plan.order))
        return self.plans

    def new_plan(self, person: Person, service: Service, *, title=None, body=None) -> Plan:
        values = {"first": person.user.first_name or person.user.username}
        priority = self.pick_priority(service)
        if title is None:
            title, body = self.texts(values, service)
        else:
            title, body = _fill(self.rng, title, values), _fill(self.rng, body, values)
        confidential_share = SERVICE_TEXTS.get(service.name, (1, 0))[1]
        plan = Plan(
            order=len(self.plans),
            requester=person.user,
            service=service,
            priority=priority,
            title=title,
            description=body,
            confidential=self.rng.random() < confidential_share,
            values=values,
        )
        self.plans.append(plan)
        return plan

    def blockers_of(self, service: Service, department: Department) -> list:
        return [
            entry
            for entry in BLOCKERS.get(service.name, [])
            if entry[0] in self.service_by_name
            and self.service_by_name[entry[0]].department_id != department.pk
        ]

    def plan_request(self, filed_at, provider, service, person, *, fate, depth=0, late=None):
        """A request filed at `filed_at` and worked to its end (or to now, whichever first)."""
        plan = self.new_plan(person, service)
        plan.add(filed_at, "create")
        self.plan_work(
            plan,
            provider,
            person,
            service=service,
            start=filed_at,
            fate=fate,
            depth=depth,
            late=late,
        )
        return plan

    def plan_transferred(self, filed_at, wrong_provider, wrong_service, person, right_service):
        """Filed at the wrong department, which answers, passes it on; the right one works it."""
        # The text is about the right service; the requester picked the wrong one.
        plan = self.new_plan(person, right_service)
        plan.service = wrong_service
        plan.add(filed_at, "create")
        right_provider = self.provider_of[right_service.department_id]
        agent = self.pick(wrong_provider.agents, wrong_provider.agent_weights)
        fr_target = self.targets(wrong_service, plan.priority)[ClockKind.FIRST_RESPONSE]
        answered = self.later(
            wrong_provider.calendar,
            filed_at,
            fr_target * self.on_time_fraction(wrong_provider.behaviour.pace),
        )
        note = _fill(
            self.rng,
            self.rng.choice(TRANSFER_NOTES),
            {**plan.values, "department": right_provider.department.name},
        )
        plan.add(answered, "comment", author=agent, body=note)
        moved = plan.add(
            answered + datetime.timedelta(minutes=2),
            "transfer",
            actor=agent,
            department=right_provider.department,
            service=right_service,
        )
        self.plan_work(plan, right_provider, person, service=right_service, start=moved, fate={})

    def plan_work(
        self,
        plan: Plan,
        provider: Provider,
        person: Person,
        *,
        service: Service,
        start,
        fate,
        depth=0,
        late=None,
    ):
        """The provider's work on a request from `start` (filing or transfer) to its end.

        Instants come from business time in the provider's calendar, so what is planned as
        on time or late is what the clocks will say: the first response after `first` business
        seconds, the resolution when the running (not waiting) time reaches `budget`.
        """
        rng = self.rng
        behaviour = provider.behaviour
        calendar = provider.calendar
        department_slug = provider.department.slug
        agent = self.pick(provider.agents, provider.agent_weights)
        manager = self.pick(provider.managers)

        priority = plan.priority
        change_priority = not fate.get("blocked") and rng.random() < PRIORITY_CHANGE_SHARE
        if change_priority:
            position = PRIORITY_ORDER.index(priority)
            step = 1 if position == 0 or (position < 3 and rng.random() < 0.7) else -1
            priority = PRIORITY_ORDER[position + step]
        targets = self.targets(service, priority)
        first_late = rng.random() < behaviour.first_late
        if late is None:
            late = rng.random() < behaviour.resolution_late
        first = targets[ClockKind.FIRST_RESPONSE] * (
            self.late_fraction() if first_late else self.on_time_fraction(behaviour.pace * 0.8)
        )
        budget = targets[ClockKind.RESOLUTION] * (
            self.late_fraction() if late else self.on_time_fraction(behaviour.pace)
        )
        budget = max(budget, first + 5 * MINUTE)

        # Triage: assigned (by the manager or the agent themself), maybe a new priority.
        triaged = self.later(calendar, start, first * rng.uniform(0.3, 0.9))
        assigner = manager if rng.random() < 0.4 else agent
        plan.add(triaged, "assign", actor=assigner, assignee=agent)
        if change_priority:
            plan.add(triaged, "priority", actor=assigner, priority=priority)
        responded = self.later(calendar, start, first)
        used = first  # business seconds on the resolution clock so far
        cursor = responded

        if fate.get("cancel") and rng.random() < 0.3:
            # Withdrawn before anyone answered.
            cancel_at = self.later(person.calendar, start, first * rng.uniform(0.2, 0.9))
            plan.add(
                cancel_at,
                "transition",
                actor=plan.requester,
                action="cancel",
                comment=rng.choice(CANCELS),
            )
            return

        quick = budget < targets[ClockKind.RESOLUTION] * 0.15 and not any(fate.values())
        kind = rng.choices(["ack", "reply", "ask"], [35, 45, 20 * behaviour.asks / 0.3])[0]
        if quick and rng.random() < 0.5:
            resolved = plan.add(
                responded,
                "transition",
                actor=agent,
                action="resolve",
                comment=_fill(
                    rng, rng.choice(RESOLUTIONS.get(department_slug, ["Done."])), plan.values
                ),
            )
            self.plan_after_resolution(plan, provider, person, agent, resolved, fate=fate)
            return
        if kind == "ask":
            question = rng.choice(QUESTIONS.get(department_slug, ["Could you tell me more?"]))
            plan.add(responded, "transition", actor=agent, action="wait", comment=question)
            cursor = self.plan_answer(plan, person, responded, agent, provider)
        else:
            if kind == "ack":
                plan.add(responded, "ack", actor=agent)
            else:
                plan.add(
                    responded,
                    "comment",
                    author=agent,
                    body=_fill(rng, rng.choice(FIRST_REPLIES), plan.values),
                )
            cursor = plan.add(
                self.later(calendar, responded, rng.randrange(1, 30) * MINUTE),
                "transition",
                actor=agent,
                action="start",
            )
            used += business_seconds_between(calendar, responded, cursor)

        def advance(to_used):
            """The instant the resolution clock reaches `to_used`, running from `cursor`."""
            nonlocal used, cursor
            if to_used > used:
                cursor = self.later(calendar, cursor, to_used - used)
                used = to_used
            return cursor

        # Questions to the requester while working (the resolution clock pauses meanwhile).
        asks = 0
        if rng.random() < behaviour.asks * 0.8:
            asks = 2 if rng.random() < 0.2 else 1
        for _ in range(asks):
            asked = advance(used + (budget - used) * rng.uniform(0.15, 0.5))
            question = rng.choice(QUESTIONS.get(department_slug, ["Could you tell me more?"]))
            plan.add(asked, "transition", actor=agent, action="wait", comment=question)
            cursor = self.plan_answer(plan, person, asked, agent, provider)

        if rng.random() < 0.15:
            noted = advance(used + (budget - used) * rng.uniform(0.1, 0.5))
            note = rng.choice(NOTES.get(department_slug, ["Looking into it."]))
            plan.add(noted, "comment", author=agent, body=note, internal=True)

        if fate.get("cancel"):
            cancel_at = advance(used + (budget - used) * rng.uniform(0.1, 0.8))
            if rng.random() < 0.7:
                plan.add(
                    cancel_at,
                    "transition",
                    actor=plan.requester,
                    action="cancel",
                    comment=rng.choice(CANCELS),
                )
            else:
                plan.add(
                    cancel_at,
                    "transition",
                    actor=agent,
                    action="cancel",
                    comment="Closing this as discussed on the phone.",
                )
            return

        if fate.get("blocked") and depth < MAX_BLOCK_DEPTH:
            blocked_at = advance(used + MINUTE * rng.randrange(5, 90))
            blocker = self.plan_blocker(plan, service, provider, agent, blocked_at, depth)
            if blocker is None:
                resolved = advance(budget)
            else:
                resolved = self.later(calendar, blocker[1], rng.uniform(0.5, 8) * HOUR)
                blocker = blocker[0]
        else:
            blocker = None
            resolved = advance(budget)

        if not fate.get("reopen") and not fate.get("blocked") and rng.random() < PROMISE_SHARE:
            self.plan_promise(plan, provider, agent, after=plan.steps[-1].at, resolved=resolved)

        if blocker is not None:
            body = rng.choice(UNBLOCKED_REPLIES)
        else:
            body = _fill(rng, rng.choice(RESOLUTIONS.get(department_slug, ["Done."])), plan.values)
        plan.add(
            resolved,
            "transition",
            actor=agent,
            action="resolve",
            comment=body if rng.random() < 0.8 else "",
            blocker=blocker,
        )
        if fate.get("reopen"):
            reopened = self.later(person.calendar, resolved, rng.uniform(0.5, 3) * 8 * HOUR)
            if reopened - resolved < datetime.timedelta(days=settings.REOPEN_WINDOW_DAYS - 1):
                plan.add(
                    reopened,
                    "transition",
                    actor=plan.requester,
                    action="reopen",
                    comment=rng.choice(REOPENS),
                )
                resolved = self.later(
                    calendar, reopened, targets[ClockKind.RESOLUTION] * rng.uniform(0.1, 0.5)
                )
                plan.add(
                    resolved,
                    "transition",
                    actor=agent,
                    action="resolve",
                    comment="Fixed for good this time, I hope. Sorry about that!",
                )
        self.plan_after_resolution(plan, provider, person, agent, resolved, fate=fate)

    def plan_answer(self, plan: Plan, person: Person, asked, agent, provider) -> datetime.datetime:
        """The requester answers a question (which resumes the request); some need a nudge."""
        rng = self.rng
        delay = self.answer_delay(person)
        if delay > 2 * 8 * HOUR and rng.random() < 0.5:
            nudged = self.later(provider.calendar, asked, 8 * HOUR + rng.randrange(HOUR))
            answered_at = self.later(person.calendar, asked, delay)
            if nudged < answered_at:
                plan.add(
                    nudged,
                    "comment",
                    author=agent,
                    body=_fill(rng, rng.choice(REMINDERS), plan.values),
                )
        answered = self.later(person.calendar, asked, delay)
        return plan.add(answered, "comment", author=plan.requester, body=rng.choice(ANSWERS))

    def plan_promise(self, plan: Plan, provider, agent, *, after, resolved) -> None:
        """Commit to a date: kept about three times in four."""
        rng = self.rng
        promised_on = self.later(provider.calendar, after, rng.randrange(5, 120) * MINUTE)
        if promised_on >= resolved:
            return
        broken = rng.random() < PROMISE_BROKEN
        if broken:
            promised_at = promised_on + (resolved - promised_on) * rng.uniform(0.3, 0.9)
            if promised_at - promised_on < datetime.timedelta(hours=1):
                broken = False
        if not broken:
            promised_at = resolved + datetime.timedelta(hours=rng.uniform(1, 30))
        promised_at = promised_at.replace(minute=0, second=0, microsecond=0) + datetime.timedelta(
            hours=1
        )
        plan.add(promised_on, "promise", actor=agent, promised_at=promised_at)

    def plan_blocker(self, plan, service, provider, agent, blocked_at, depth):
        """The agent files a request to a third department and marks this one blocked by it.

        Returns the blocker's plan and when it is resolved (None if it cannot be planned)."""
        rng = self.rng
        options = self.blockers_of(service, provider.department)
        person = self.primary_of.get(agent.pk)
        if not options or person is None or person.department.pk != provider.department.pk:
            return None
        name, title, body = rng.choice(options)
        blocker_service = self.service_by_name[name]
        blocker_provider = self.provider_of[blocker_service.department_id]
        blocker = self.new_plan(person, blocker_service, title=title, body=body)
        blocker.add(blocked_at, "create")
        deeper = (
            depth + 1 < MAX_BLOCK_DEPTH
            and bool(self.blockers_of(blocker_service, blocker_provider.department))
            and rng.random() < 0.35
        )
        # The blocker is usually late itself: the "weakest link" the scorecards show.
        self.plan_work(
            blocker,
            blocker_provider,
            person,
            service=blocker_service,
            start=blocked_at,
            fate={"blocked": deeper},
            depth=depth + 1,
            late=rng.random() < 0.65,
        )
        plan.add(blocked_at + datetime.timedelta(minutes=1), "block", actor=agent, blocker=blocker)
        plan.add(
            blocked_at + datetime.timedelta(minutes=2),
            "comment",
            author=agent,
            body=rng.choice(BLOCKED_NOTES),
            internal=True,
            blocker=blocker,
        )
        last = blocker.steps[-1]
        resolve = next(
            (s for s in reversed(blocker.steps) if s.args.get("action") == "resolve"), None
        )
        return blocker, (resolve.at if resolve is not None else last.at)

    def plan_after_resolution(self, plan, provider, person, agent, resolved, *, fate) -> None:
        """Closed by the requester who confirms, or by the agent after ten quiet days."""
        rng = self.rng
        if rng.random() < 0.35:
            closed = self.later(person.calendar, resolved, rng.uniform(0.2, 16) * HOUR)
            plan.add(closed, "transition", actor=plan.requester, action="close")
        else:
            closed = self.later(
                provider.calendar, resolved + AUTO_CLOSE_AFTER, rng.uniform(0, 4) * HOUR
            )
            plan.add(closed, "transition", actor=agent, action="close")


# --- the replay ------------------------------------------------------------------------------
#
# Two engines with one interface (run a step, scan, finish); see the module docstring. Each
# service call costs a dozen ORM queries (about 15 ms on a small machine), too slow for the
# 20,000 actions of six months at `make run`: hence the copy, held to the services by a test.


def step_run(engine, ops, plan: Plan, step: Step) -> None:
    """One planned step, through `ops`: the service functions (`services`), or the same
    signatures on the replay in memory (FastReplay), which run the same lifecycle."""
    args, now = step.args, step.at
    if step.action == "create":
        engine.requests[plan.order] = ops.request_create(
            requester=plan.requester,
            service=plan.service,
            title=plan.title,
            description=plan.description,
            priority=plan.priority,
            confidential=plan.confidential,
            now=now,
        )
        return
    request = engine.requests.get(plan.order)
    if request is None:
        raise ValidationError("The request was never filed.")
    if step.action == "assign":
        ops.request_assign(request=request, actor=args["actor"], assignee=args["assignee"], now=now)
    elif step.action == "priority":
        ops.request_priority_change(
            request=request, actor=args["actor"], priority=args["priority"], now=now
        )
    elif step.action == "ack":
        ops.request_acknowledge(request=request, actor=args["actor"], now=now)
    elif step.action == "comment":
        ops.request_comment_add(
            request=request,
            author=args["author"],
            body=_text(engine, args, "body"),
            internal=args.get("internal", False),
            now=now,
        )
    elif step.action == "transition":
        ops.request_transition(
            request=request,
            actor=args["actor"],
            action=args["action"],
            comment=_text(engine, args, "comment"),
            now=now,
        )
    elif step.action == "promise":
        ops.request_promise(
            request=request, actor=args["actor"], promised_at=args["promised_at"], now=now
        )
    elif step.action == "transfer":
        ops.request_transfer(
            request=request,
            actor=args["actor"],
            department=args["department"],
            service=args["service"],
            now=now,
        )
    elif step.action == "block":
        blocker = engine.current(args["blocker"])
        if blocker is None:
            raise ValidationError("The blocking request was never filed.")
        ops.request_block(request=request, actor=args["actor"], blocked_by=blocker, now=now)
    else:  # pragma: no cover - a planning bug
        raise ValueError(f"Unknown step {step.action}.")


class ServicesReplay:
    """Every step through the service that the app would call."""

    def __init__(self, planner: HistoryPlanner):
        self.requests: dict[int, ServiceRequest] = {}

    def reference(self, plan: Plan) -> str | None:
        request = self.requests.get(plan.order)
        return request.reference if request is not None else None

    def current(self, plan: Plan) -> ServiceRequest | None:
        """The request of a plan as the database has it now."""
        request = self.requests.get(plan.order)
        return ServiceRequest.objects.get(pk=request.pk) if request is not None else None

    def run(self, plan: Plan, step: Step) -> None:
        step_run(self, services, plan, step)

    def scan(self, at) -> dict:
        return sla_clocks_scan(now=at, limit=10_000)

    def finish(self) -> None:
        pass


def _text(engine, args: dict, key: str) -> str:
    """A planned text, with the blocking request's reference filled in."""
    text = args.get(key, "")
    blocker = args.get("blocker")
    if blocker is not None and "{blocker}" in text:
        text = text.replace("{blocker}", engine.reference(blocker) or "the other request")
    return text


class _Simulated:
    """A request as FastReplay keeps it: the row and every row that hangs off it."""

    __slots__ = ("clocks", "events", "links_in", "links_out", "row", "wait")

    def __init__(self, row: ServiceRequest):
        self.row = row
        self.events: list[RequestEvent] = []
        self.clocks: list[SLAClock] = []
        self.wait: WaitPeriod | None = None
        self.links_out: list[RequestLink] = []  # active links: this request is blocked by
        self.links_in: list[RequestLink] = []  # active links: this request blocks

    def current_clocks(self) -> list[SLAClock]:
        return [clock for clock in self.clocks if clock.is_current]


FAST_MODELS = (
    ServiceRequest,
    Comment,
    RequestEvent,
    SLAClock,
    WaitPeriod,
    RequestLink,
    Notification,
)


class FastReplay:
    """The services' effects in memory, written in bulk by `finish`.

    Each method mirrors one service function (and `scan` the scanner) step by step, in the
    same order, so primary keys, event order and every field come out as the services would
    have written them. Keep it in step with services.py: test_demo compares the two.
    """

    def __init__(self, planner: HistoryPlanner, *, first_pks: dict | None = None):
        self.planner = planner
        self.requests: dict[int, ServiceRequest] = {}  # plan order -> its row
        self.requests_by_pk: dict[int, _Simulated] = {}
        self.rows: dict = {model: [] for model in FAST_MODELS}
        self.next_pk = {}
        for model in FAST_MODELS:
            last = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            self.next_pk[model] = max(last + 1, (first_pks or {}).get(model, 0))
        self.dedupe_keys: set = set()
        self.triggers: list = []
        self.armed: dict[int, int] = {}  # clock id -> how often armed: stale triggers skip
        self.computed_upto: dict[int, int] = {}  # clock id -> events seen when last computed
        staff = Membership.objects.filter(role__in=PROVIDER_ROLES).values_list(
            "user_id", "department_id"
        )
        self.staff_pairs = set(staff)
        self.manager_pairs = set(
            Membership.objects.filter(role=Role.MANAGER).values_list("user_id", "department_id")
        )
        self._staff_lists: dict = {}

    # --- bookkeeping ---------------------------------------------------------------------

    def _new(self, model, **fields):
        row = model(pk=self.next_pk[model], **fields)
        self.next_pk[model] += 1
        self.rows[model].append(row)
        return row

    def reference(self, plan: Plan) -> str | None:
        row = self.requests.get(plan.order)
        return row.reference if row is not None else None

    def _people(self, department_id: int, roles) -> list:
        key = (department_id, tuple(roles))
        if key not in self._staff_lists:
            self._staff_lists[key] = list(provider_staff(department_id=department_id, roles=roles))
        return self._staff_lists[key]

    def _agents(self, department_id: int) -> list:
        return self._people(department_id, [Role.AGENT])

    # --- bookkeeping of the rows in memory --------------------------------------------

    def _event(self, simulated, *, actor, kind, now, data=None, internal=False, department_id=None):
        event = self._new(
            RequestEvent,
            request_id=simulated.row.pk,
            actor_id=actor.pk if actor is not None else None,
            kind=kind,
            created_at=now,
            department_id=department_id or simulated.row.provider_department_id,
            data=data or {},
            internal=internal,
        )
        simulated.events.append(event)
        return event

    def _notify(self, *, users, kind, message, dedupe_key, simulated, exclude=(), now) -> None:
        exclude_ids = {u.pk for u in exclude if u is not None}
        recipients = {u.pk: u for u in users if u is not None and u.pk not in exclude_ids}
        for user_id in recipients:
            if (user_id, dedupe_key) in self.dedupe_keys:
                continue
            self.dedupe_keys.add((user_id, dedupe_key))
            self._new(
                Notification,
                user_id=user_id,
                request_id=simulated.row.pk,
                kind=kind,
                message=message[:300],
                dedupe_key=dedupe_key,
                created_at=now,
            )

    def _compute(self, simulated, clock: SLAClock, now) -> object:
        result = clock_refresh(clock, simulated.events, now)
        self.computed_upto[clock.pk] = len(simulated.events)
        return result

    def _may_change(self, simulated, clock: SLAClock) -> bool:
        for event in simulated.events[self.computed_upto[clock.pk] :]:
            if event.kind == EventKind.PRIORITY_CHANGED or (
                event.kind == EventKind.STATUS_CHANGED and event.data.get("from") == Status.RESOLVED
            ):
                return True
        return False

    def _arm(self, simulated, clock: SLAClock) -> None:
        """When would the scanner's query first pick this clock, as cached now?"""
        self.armed[clock.pk] = self.armed.get(clock.pk, 0) + 1
        moments = []
        if (
            clock.state == ClockState.RUNNING
            and clock.warning_notified_at is None
            and clock.warn_at is not None
        ):
            moments.append(clock.warn_at)
        if (
            clock.state in (ClockState.RUNNING, ClockState.BREACHED)
            and clock.completed_at is None
            and clock.breach_notified_at is None
            and clock.due_at is not None
        ):
            moments.append(clock.due_at)
        if moments:
            heapq.heappush(
                self.triggers, (min(moments), clock.pk, self.armed[clock.pk], clock, simulated)
            )

    def _resolution_version(self, simulated):
        for clock in simulated.current_clocks():
            if clock.kind == ClockKind.RESOLUTION:
                return clock.calendar_version
        return self.planner.calendar_of[simulated.row.provider_department_id]

    # --- the lifecycle's Store, in memory (see lifecycle.Store) ---------------------------

    def _sim(self, request) -> _Simulated:
        return self.requests_by_pk[request.pk]

    def is_staff(self, user, request) -> bool:
        return (user.pk, request.provider_department_id) in self.staff_pairs

    def staff(self, department_id: int, *, agents_only: bool) -> list:
        return self._people(department_id, [Role.AGENT] if agents_only else PROVIDER_ROLES)

    def targets(self, service, priority: str) -> dict[str, int]:
        return self.planner.targets(service, priority)

    def transfer_services(self, department) -> list:
        return self.planner.services_by_department.get(department.pk, [])

    def sees(self, user, request) -> bool:
        return visible_by_rule(
            request,
            user_pk=user.pk,
            provider_of={department for who, department in self.staff_pairs if who == user.pk},
            manager_of={department for who, department in self.manager_pairs if who == user.pk},
        )

    def blockers_of(self, pks) -> set[int]:
        return {link.blocked_by_id for pk in pks for link in self.requests_by_pk[pk].links_out}

    def open_link(self, request, blocker):
        return next(
            (link for link in self._sim(request).links_out if link.blocked_by_id == blocker.pk),
            None,
        )

    def links_blocked_by(self, blocker) -> list:
        return sorted(self._sim(blocker).links_in, key=lambda link: (link.created_at, link.pk))

    def links_of(self, request) -> list:
        return list(self._sim(request).links_out)

    def create(self, **fields) -> ServiceRequest:
        row = self._new(ServiceRequest, **fields)
        self.requests_by_pk[row.pk] = _Simulated(row)
        return row

    def save(self, request, *, fields, now) -> None:
        request.updated_at = now

    def event(self, request, *, actor, kind, now, data=None, internal=False) -> None:
        self._event(
            self._sim(request), actor=actor, kind=kind, now=now, data=data, internal=internal
        )

    def notify(self, request, *, users, kind, message, dedupe_key, now, exclude=()) -> None:
        self._notify(
            users=users,
            exclude=exclude,
            simulated=self._sim(request),
            kind=kind,
            message=message,
            dedupe_key=dedupe_key,
            now=now,
        )

    def comment(self, request, *, author, body, internal, now) -> Comment:
        return self._new(
            Comment,
            request_id=request.pk,
            author_id=author.pk,
            body=body,
            internal=internal,
            created_at=now,
        )

    def attach(self, request, *, files, uploaded_by, now, comment=None) -> list:
        if files:  # pragma: no cover - the demo plans no files
            raise ValueError("The demo history attaches no files.")
        return []

    def wait_start(self, request, *, now) -> None:
        self._sim(request).wait = self._new(
            WaitPeriod,
            request_id=request.pk,
            requesting_department_id=request.requesting_department_id,
            provider_department_id=request.provider_department_id,
            started_at=now,
        )

    def wait_end(self, request, *, now) -> None:
        simulated = self._sim(request)
        wait = simulated.wait
        if wait is None:
            return
        wait.ended_at = now
        wait.business_seconds = business_seconds_between(
            self._resolution_version(simulated), wait.started_at, now
        )
        simulated.wait = None

    def link_create(self, request, blocker, *, actor, now) -> RequestLink:
        link = self._new(
            RequestLink,
            request=request,
            blocked_by_id=blocker.pk,
            blocking_department_id=blocker.provider_department_id,
            created_by_id=actor.pk,
            created_at=now,
        )
        self._sim(request).links_out.append(link)
        self._sim(blocker).links_in.append(link)
        return link

    def link_end(self, link, *, now) -> None:
        blocked = self.requests_by_pk[link.request_id]
        link.ended_at = now
        link.blocked_seconds = business_seconds_between(
            self._resolution_version(blocked), link.created_at, now
        )
        blocked.links_out.remove(link)
        self.requests_by_pk[link.blocked_by_id].links_in.remove(link)

    def clocks_start(self, request, *, department, now) -> None:
        simulated = self._sim(request)
        targets = self.planner.targets(request.service, request.priority)
        version = self.planner.calendar_of[department.pk]
        for kind in ClockKind.values:
            simulated.clocks.append(
                self._new(
                    SLAClock,
                    request_id=request.pk,
                    kind=kind,
                    department_id=department.pk,
                    calendar_version=version,
                    target_seconds=targets[kind],
                    started_at=now,
                    is_current=True,
                )
            )

    def clocks_retire(self, request) -> None:
        for clock in self._sim(request).current_clocks():
            clock.is_current = False

    def recompute(self, request, *, now) -> None:
        """services.clocks_recompute, then arm the scanner for the clocks' new state.

        A completed clock only changes again with a new target or a reopen: until then its
        recomputation gives the same fields with a new `computed_at`, so only that is set.
        """
        simulated = self._sim(request)
        for clock in simulated.current_clocks():
            if clock.completed_at is None or self._may_change(simulated, clock):
                self._compute(simulated, clock, now)
            else:
                clock.computed_at = now
            self._arm(simulated, clock)
        for name, value in request_due_times(simulated.current_clocks()).items():
            setattr(simulated.row, name, value)

    def resolved(self, request) -> None:
        """Nothing: surveys have a demo of their own (surveys/demo.py)."""

    # --- the services' signatures, on this store (step_run calls them) -------------------

    def request_create(
        self, *, requester, service, title, description, priority, confidential, now
    ):
        customer = self.planner.primary_of[requester.pk].department
        workflow.refuse(
            workflow.file_refusal(
                service=service, priority=priority, requesting_department=customer
            )
        )
        return lifecycle.file(
            self,
            requester=requester,
            requesting_department=customer,
            service=service,
            priority=priority,
            title=title,
            description=description,
            confidential=confidential,
            now=now,
        )

    def request_comment_add(self, *, request, author, body, internal=False, now):
        return lifecycle.comment(
            self, request, author=author, body=body, internal=internal, now=now
        )

    def request_transition(self, *, request, actor, action, comment="", now):
        return lifecycle.transition(
            self, request, actor=actor, action=action, comment_text=comment, now=now
        )

    def request_acknowledge(self, *, request, actor, now):
        return lifecycle.acknowledge(self, request, actor=actor, now=now)

    def request_assign(self, *, request, actor, assignee, now):
        return lifecycle.assign(self, request, actor=actor, assignee=assignee, now=now)

    def request_priority_change(self, *, request, actor, priority, now):
        return lifecycle.priority_change(self, request, actor=actor, priority=priority, now=now)

    def request_promise(self, *, request, actor, promised_at, now):
        return lifecycle.promise(self, request, actor=actor, promised_at=promised_at, now=now)

    def request_transfer(self, *, request, actor, department, service, now):
        return lifecycle.transfer(
            self, request, actor=actor, department=department, service=service, now=now
        )

    def request_block(self, *, request, actor, blocked_by, now):
        return lifecycle.block(self, request, actor=actor, blocked_by=blocked_by, now=now)

    # --- the engine interface ------------------------------------------------------------

    def current(self, plan: Plan) -> ServiceRequest | None:
        return self.requests.get(plan.order)

    def run(self, plan: Plan, step: Step) -> None:
        step_run(self, self, plan, step)

    def scan(self, at) -> dict:
        """scanner.sla_clocks_scan at `at`: the clocks its query would pick, by due time."""
        due = {}
        while self.triggers and self.triggers[0][0] <= at:
            _, pk, armed, clock, simulated = heapq.heappop(self.triggers)
            if armed == self.armed[pk] and clock.is_current:
                due[pk] = (clock, simulated)
        warned = breached = 0
        for clock, simulated in sorted(due.values(), key=lambda item: (item[0].due_at, item[0].pk)):
            was_warned, was_breached = self._scan_one(clock, simulated, at)
            warned += was_warned
            breached += was_breached
        return {"warned": warned, "breached": breached}

    def _scan_one(self, clock: SLAClock, simulated, now) -> tuple[bool, bool]:
        result = self._compute(simulated, clock, now)
        crossing = clock_crossing(clock, result, simulated.row, now=now)
        if crossing is not None:
            self._event(
                simulated,
                actor=None,
                kind=crossing.event_kind,
                now=now,
                department_id=clock.department_id,
                data=crossing.data,
                internal=True,
            )
            self._notify(
                users=sla_recipients(simulated.row, crossing.audience, staff=self._role_staff),
                simulated=simulated,
                kind=crossing.notification_kind,
                message=crossing.message,
                dedupe_key=crossing.dedupe_key,
                now=now,
            )
        self._arm(simulated, clock)
        if crossing is None:
            return False, False
        return not crossing.breached, crossing.breached

    def _role_staff(self, department_id: int, role: str) -> list:
        return self._people(department_id, [role])

    def finish(self) -> None:
        """Write every row, parents first, then move the id sequences past them."""
        # What history_generate does to the history's notifications, done before writing
        # them rather than by updating 30,000 rows afterwards.
        now = self.planner.now
        for notification in self.rows[Notification]:
            notification.emailed_at = now
            if notification.created_at < now - NOTIFICATIONS_UNREAD_FOR:
                notification.read_at = notification.created_at + NOTIFICATION_READ_AFTER
        for model in FAST_MODELS:
            model.objects.bulk_create(self.rows[model], batch_size=500)
        statements = connection.ops.sequence_reset_sql(no_style(), list(FAST_MODELS))
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def history_replay(plans: list[Plan], *, engine, now, start, stdout=None) -> Outcome:
    """Run every plan's steps up to `now` in time order across plans, with the scanner
    every simulated hour, so each step sees the world as it was at that instant."""
    outcome = Outcome()
    queue: list = []
    for index, plan in enumerate(plans):
        if plan.steps:
            heapq.heappush(queue, (plan.steps[0].at, 0, index, 0))
    heapq.heappush(queue, (start + SCAN_EVERY, 1, -1, 0))
    next_progress = start + PROGRESS_EVERY
    filed = 0
    while queue:
        at, _, index, step_index = heapq.heappop(queue)
        if at > now:
            continue
        while at >= next_progress:
            if stdout is not None:
                stdout.write(
                    f"  {timezone.localtime(next_progress):%Y-%m-%d}: {filed} requests filed, "
                    f"{sum(outcome.actions.values())} actions"
                )
            next_progress += PROGRESS_EVERY
        if index < 0:
            result = engine.scan(at)
            outcome.scans += 1
            outcome.warned += result["warned"]
            outcome.breached += result["breached"]
            heapq.heappush(queue, (at + SCAN_EVERY, 1, -1, 0))
            continue
        plan = plans[index]
        step = plan.steps[step_index]
        try:
            engine.run(plan, step)
        except (ValidationError, PermissionDenied) as exc:
            # A planning mistake should not sink the whole demo: the request stops here.
            outcome.failures.append((plan.title, step.action, step.at, exc))
            continue
        outcome.actions[step.action] += 1
        filed += step.action == "create"
        if step_index + 1 < len(plan.steps):
            heapq.heappush(queue, (plan.steps[step_index + 1].at, 0, index, step_index + 1))
    engine.finish()
    return outcome


# --- entry points ----------------------------------------------------------------------------


@dataclass
class HistoryReport:
    plans: list[Plan]
    outcome: Outcome
    seconds: float
    lines: list[str]


def history_generate(
    *,
    weeks: int = DEFAULT_WEEKS,
    requests_per_week: int = DEFAULT_REQUESTS_PER_WEEK,
    seed: int = DEFAULT_SEED,
    now: datetime.datetime | None = None,
    stdout=None,
    engine: str = "fast",
    first_pks: dict | None = None,
) -> HistoryReport:
    """Plan and replay `weeks` weeks of requests up to `now`: with `engine="fast"` in
    memory and written in bulk, with `"services"` through the service functions (slow; the
    reference the fast engine is tested against). `first_pks` (model -> first id) lets a
    test give both engines the same ids."""
    started = time.monotonic()
    now = (now or timezone.now()).replace(microsecond=0)
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, reproducible on purpose  # nosec B311
    planner = HistoryPlanner(rng=rng, now=now, weeks=weeks)
    if not planner.providers or not planner.people:
        return HistoryReport([], Outcome(), 0.0, ["No providers or people: no history."])
    plans = planner.plan(count=weeks * requests_per_week)
    if stdout is not None:
        stdout.write(
            f"Demo history: planned {len(plans)} requests over {_weeks(weeks)} up to "
            f"{timezone.localtime(now):%Y-%m-%d %H:%M} (seed {seed})..."
        )
    last_request, last_notification = (
        model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for model in (ServiceRequest, Notification)
    )
    replay = (
        FastReplay(planner, first_pks=first_pks) if engine == "fast" else ServicesReplay(planner)
    )
    outcome = history_replay(plans, engine=replay, now=now, start=planner.start, stdout=stdout)

    # Clocks still running are brought up to now, and the scanner has its say once more.
    still_open = ServiceRequest.objects.filter(pk__gt=last_request, status__in=OPEN_STATUSES)
    for request in still_open.order_by("pk"):
        services.clocks_recompute(request, now=now)
    result = sla_clocks_scan(now=now, limit=100_000)
    outcome.warned += result["warned"]
    outcome.breached += result["breached"]

    # The past has been told: no emails about it, and old news is read.
    seeded = Notification.objects.filter(pk__gt=last_notification)
    seeded.filter(emailed_at__isnull=True).update(emailed_at=now)
    seeded.filter(read_at__isnull=True, created_at__lt=now - NOTIFICATIONS_UNREAD_FOR).update(
        read_at=F("created_at") + NOTIFICATION_READ_AFTER
    )
    seconds = time.monotonic() - started
    lines = summary_lines(outcome=outcome, seconds=seconds, weeks=weeks)
    if stdout is not None:
        for line in lines:
            stdout.write(line)
    return HistoryReport(plans=plans, outcome=outcome, seconds=seconds, lines=lines)


def _weeks(weeks: int) -> str:
    return f"{weeks} week" if weeks == 1 else f"{weeks} weeks"


def summary_lines(*, outcome: Outcome, seconds: float, weeks: int) -> list[str]:
    """What the database holds after the history: the printed summary."""
    requests = ServiceRequest.objects.all()
    total = requests.count()
    statuses = dict(requests.values_list("status").annotate(n=Count("pk")).order_by())
    status_text = ", ".join(
        f"{label.lower()} {statuses.get(value, 0)}" for value, label in Status.choices
    )
    clocks = SLAClock.objects.exclude(state=ClockState.STOPPED)
    lines = [
        f"requests: {total} filed over {_weeks(weeks)} in {seconds:.1f} s "
        f"({sum(outcome.actions.values())} actions, {outcome.scans} scanner runs)",
        f"  status: {status_text}",
    ]
    for kind, label in ClockKind.choices:
        of_kind = clocks.filter(kind=kind)
        settled = of_kind.filter(state__in=[ClockState.MET, ClockState.BREACHED]).count()
        breached = of_kind.filter(state=ClockState.BREACHED).count()
        share = breached / settled if settled else 0
        lines.append(
            f"  {label.lower()}: {breached} of {settled} settled clocks breached ({share:.0%})"
        )
    by_provider = (
        SLAClock.objects.filter(state__in=[ClockState.MET, ClockState.BREACHED])
        .values("department__name")
        .annotate(
            settled=Count("pk"),
            breached=Count("pk", filter=Q(state=ClockState.BREACHED)),
            requests=Count("request", distinct=True),
        )
        .order_by("-requests")
    )
    lines.append(
        "  breached clocks by provider: "
        + ", ".join(
            f"{row['department__name']} {row['breached'] / row['settled']:.0%}"
            for row in by_provider
        )
    )
    promised = requests.filter(promised_at__isnull=False, resolved_at__isnull=False)
    kept = promised.filter(resolved_at__lte=F("promised_at")).count()
    reopened = (
        RequestEvent.objects.filter(
            kind=EventKind.STATUS_CHANGED, data__to=Status.IN_PROGRESS, data__from=Status.RESOLVED
        )
        .values("request")
        .distinct()
        .count()
    )
    lines += [
        f"  waits on requester: {WaitPeriod.objects.count()} "
        f"({WaitPeriod.objects.filter(ended_at__isnull=True).count()} open now); "
        f"reopened {reopened}; transferred "
        f"{RequestEvent.objects.filter(kind=EventKind.TRANSFERRED).count()}; "
        f"blocked-by links {RequestLink.objects.count()} "
        f"({RequestLink.objects.filter(ended_at__isnull=True).count()} still blocking)",
        f"  promises: {promised.count()} resolved, {kept} kept; "
        f"{requests.filter(promised_at__isnull=False, resolved_at__isnull=True).count()} pending",
        f"  SLA scanner: {outcome.warned} warnings, {outcome.breached} breaches notified; "
        f"notifications: {Notification.objects.count()} (all marked emailed)",
    ]
    if outcome.failures:
        lines.append(f"  skipped {len(outcome.failures)} actions the services refused")
    return lines


def seed_demo(*, stdout) -> None:
    """seed_demo's step: add the history once (never on top of existing requests)."""
    weeks = getattr(settings, "DEMO_HISTORY_WEEKS", DEFAULT_WEEKS)
    if weeks <= 0:
        return
    if ServiceRequest.objects.exists():
        stdout.write("Demo history: requests exist already, none added.")
        return
    history_generate(
        weeks=weeks,
        requests_per_week=getattr(
            settings, "DEMO_HISTORY_REQUESTS_PER_WEEK", DEFAULT_REQUESTS_PER_WEEK
        ),
        seed=getattr(settings, "DEMO_HISTORY_SEED", DEFAULT_SEED),
        stdout=stdout,
    )
