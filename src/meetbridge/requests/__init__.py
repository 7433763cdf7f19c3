"""Service requests: a business's services (interpreting, tutoring, consultations) scheduled
as requests, converted to Zoom meetings on a pool of the organisation's licensed Zoom hosts."""
