"""Planted violations of all 35 models, their near misses, and the truth recorded with them."""

from __future__ import annotations

from engine.demo.calendar import Workdays
from engine.demo.plants import ast, eng, fin, fun, hou, inv
from engine.demo.plants.base import Planter

DOMAINS = (eng, inv, hou, ast, fun, fin)

# Reading of contract/models.md the planted cases rely on, and the places where it
# leaves room (there nothing is planted and the background never goes):
#
# Relied on, as the contract states it:
# - Only event_date decides visibility; other dates and statuses are taken as recorded.
#   So an INV03 case fires from the month its first incentive is visible even when
#   status_changed_on is later, and a HOU case approved next month fires from the
#   month of the application (its status 批准 and approved_on are already recorded).
# - Persons of an enterprise: its legal rep only once the enterprise is visible, its
#   shareholders always (ENG04, ENG08 and FUN04 each plant a late-registered case).
# - Official circle: every posting of an official counts, whatever its dates.
# - A null never satisfies a comparison: kind null is not 工程, has_letter null is not
#   false, meal_cost null has no per-head cost, approved_area null is not above 125,
#   registration_type null is not 农业 (so HOU03 fires), status null is not 终止.
# - "Within 180 days before" is [paid_on - 180, paid_on]; "between" includes both ends;
#   "non-empty" excludes blanks such as " ".
#
# Left open, so never planted and never produced by the background:
# - a blank (not null) township, tender_id, agreement_id, account or vendor: is it
#   missing or a value?
# - stray spaces or other spellings in values that models join or group on (villages,
#   vendor names, phones, IPs, account numbers, programs, periods, ids): whether an
#   engine should trim or normalise is not said; stray spaces only go into free text;
# - an untendered contract without project_id (ENG02 would get a null root);
# - a vehicle without vehicle_type owned by a 低保/特困 person ("other than 摩托车");
# - FUN04 through a shareholding in an enterprise that is not yet visible (its status
#   is unknown then);
# - a ps_household row without village for an applicant.


def plant_all(workdays: Workdays | None = None) -> Planter:
    """Plant every domain's cases into a fresh planter (the same rows whatever the seed)."""
    pl = Planter(workdays=workdays or Workdays.build())
    for domain in DOMAINS:
        domain.plant(pl)
    return pl


__all__ = ["Planter", "plant_all"]
