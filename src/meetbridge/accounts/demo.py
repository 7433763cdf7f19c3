"""The demo organisation that `meetbridge run` starts with."""

from __future__ import annotations

from meetbridge.accounts.orgs import Organisations
from meetbridge.accounts.service import Accounts
from meetbridge.core.audit import Origin

DEMO_SLUG = "demo"
DEMO_ADMIN_EMAIL = "admin@demo.test"


def ensure_demo(orgs: Organisations, accounts: Accounts, password: str) -> bool:
    """Creates the demo organisation with its admin (owner) and two members, once.
    On later runs the admin's password is set to `password` so the printed sign-in works."""
    origin = Origin(via="demo")
    owner = orgs.first_owner(DEMO_SLUG)
    if owner is not None:
        accounts.reset_password(owner.id, password)
        return False
    _org, owner = orgs.create_organization(
        name="Demo Company",
        slug=DEMO_SLUG,
        owner_email=DEMO_ADMIN_EMAIL,
        owner_name="Dana Admin",
        owner_password=password,
        origin=origin,
        timezone="Europe/London",
    )
    for email, name in (("maria@demo.test", "Maria Lopez"), ("sam@demo.test", "Sam Okafor")):
        accounts.create_member(
            owner, email=email, name=name, role="member", password=password, origin=origin
        )
    return True
