"""RAM (``Ram`` 2015-05-01) actions: users, access keys, login profiles, MFA, groups, roles, policies.

Every write bumps the account's RAM revision (the gateway does it in the same transaction), which is
what every server process keys its compiled-policy cache on.
"""

from secplane.operations.ram import (  # noqa: F401
    access_keys,
    account,
    attachments,
    groups,
    login_profiles,
    mfa,
    policies,
    policy_versions,
    ram_tags,
    roles,
    users,
)
