"""`make bench`: request queue, API and SLA scanner timings on PostgreSQL (see README.md)."""
