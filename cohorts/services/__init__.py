"""Every write to cohorts, memberships, the schedule, enrollment and join links.

Services are keyword-only and atomic; a refusal raises ``ApplicationError`` and changes
nothing. Emails are never sent inside a request: invitations are enqueued after commit.

Split by sub-domain (``cohorts``, ``memberships``, ``enrollment``, ``schedule``, ``bulk``
— cohort-wide extension and schedule shift —, ``announcements``); callers
import from this package.
"""

from ._common import ROLE_VALUES, on_mentor_room
from .announcements import announcement_send
from .bulk import (
    MAX_SHIFT_DAYS,
    BulkExtensionPreview,
    ShiftPreview,
    extension_grant_all,
    extension_grant_all_preview,
    schedule_shift,
    schedule_shift_preview,
)
from .cohorts import (
    COHORT_EDITABLE_FIELDS,
    MAX_PACE_DAYS,
    RESERVED_SLUGS,
    cohort_create,
    cohort_update,
    validate_time_zone,
)
from .enrollment import (
    ENROLLMENT_COLUMNS,
    MAX_ENROLLMENT_ROWS,
    EnrollmentPreview,
    EnrollmentRow,
    JoinResult,
    enrollment_apply,
    enrollment_check_size,
    enrollment_preview,
    enrollment_preview_of,
    invitation_link,
    invitation_send,
    invitations_pending,
    join_cohort_via_link,
    join_link_check,
    join_link_create,
    join_link_disable,
    join_link_enable,
    join_signup,
)
from .memberships import (
    RoleEndedHook,
    membership_add,
    membership_change_role,
    membership_deactivate,
    membership_reactivate,
    membership_set_capacity,
    on_role_ended,
)
from .pins import (
    APPLY,
    KEEP,
    cohort_keep_current,
    cohort_pins_end,
    cohort_set_pinning,
    pins_for_import,
)
from .schedule import (
    extension_grant,
    extension_revoke,
    schedule_override_clear,
    schedule_override_set,
)

__all__ = [
    "BulkExtensionPreview",
    "MAX_SHIFT_DAYS",
    "ShiftPreview",
    "announcement_send",
    "extension_grant_all",
    "extension_grant_all_preview",
    "schedule_shift",
    "schedule_shift_preview",
    "APPLY",
    "KEEP",
    "cohort_keep_current",
    "cohort_pins_end",
    "cohort_set_pinning",
    "pins_for_import",
    "COHORT_EDITABLE_FIELDS",
    "ENROLLMENT_COLUMNS",
    "EnrollmentPreview",
    "EnrollmentRow",
    "JoinResult",
    "MAX_ENROLLMENT_ROWS",
    "MAX_PACE_DAYS",
    "RESERVED_SLUGS",
    "ROLE_VALUES",
    "RoleEndedHook",
    "cohort_create",
    "cohort_update",
    "enrollment_apply",
    "enrollment_check_size",
    "enrollment_preview",
    "enrollment_preview_of",
    "extension_grant",
    "extension_revoke",
    "invitation_link",
    "invitation_send",
    "invitations_pending",
    "join_cohort_via_link",
    "join_link_check",
    "join_link_create",
    "join_link_disable",
    "join_link_enable",
    "join_signup",
    "membership_add",
    "membership_change_role",
    "membership_deactivate",
    "membership_reactivate",
    "membership_set_capacity",
    "on_mentor_room",
    "on_role_ended",
    "schedule_override_clear",
    "schedule_override_set",
    "validate_time_zone",
]
