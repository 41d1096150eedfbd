# Run inside Sentry's web container by sentry-init.sh: `sentry exec < bootstrap_project.py`.
# Idempotent: finds or creates the organization (`sentry upgrade` normally made it), the app's project, its
# DSN key, and (when WANT_TOKEN=1) a read-only API token for Grafana's Sentry datasource. Prints KEY=VALUE.
import os

from sentry.models.apitoken import ApiToken
from sentry.models.organization import Organization
from sentry.models.organizationmember import OrganizationMember
from sentry.models.project import Project
from sentry.models.projectkey import ProjectKey
from sentry.models.team import Team
from sentry.types.token import AuthTokenType

try:
    from sentry.users.models.user import User
except ImportError:  # releases before the users app split
    from sentry.models.user import User

admin = User.objects.get(email=os.environ["SENTRY_ADMIN_EMAIL"])
org_slug = os.environ["SENTRY_ORG"]
org = Organization.objects.filter(slug=org_slug).first()
if org is None:
    org = Organization.objects.create(name=org_slug.capitalize(), slug=org_slug)
if not OrganizationMember.objects.filter(organization=org, user_id=admin.id).exists():
    OrganizationMember.objects.create(organization=org, user_id=admin.id, role="owner")
slug = os.environ["SENTRY_PROJECT"]

team = Team.objects.filter(organization=org).order_by("id").first()
if team is None:
    team = Team.objects.create(organization=org, name="Observability stack", slug="observability-stack")

project = Project.objects.filter(organization=org, slug=slug).first()
if project is None:
    project = Project.objects.create(organization=org, name=slug, slug=slug, platform="python-flask")
    project.add_team(team)

key = ProjectKey.get_default(project) or ProjectKey.objects.create(project=project, label="Default")
print(f"SENTRY_PROJECT_ID={project.id}")
print(f"SENTRY_PUBLIC_KEY={key.public_key}")

if os.environ.get("WANT_TOKEN") == "1":
    # A user auth token (sntryu_...), as Settings > Auth Tokens makes it: no expiry (the model's default is
    # 30 days, after which Grafana's Sentry datasource would silently stop), read-only scopes.
    token = ApiToken.objects.create(
        user=admin,
        name="grafana-sentry-datasource",
        token_type=AuthTokenType.USER,
        scope_list=["org:read", "project:read", "event:read"],
        expires_at=None,
    )
    # Readable once, right after creation; Sentry stores only its hash.
    print(f"GRAFANA_SENTRY_TOKEN={token.plaintext_token}")
