# Run inside Sentry's web container by sentry-init.sh: `sentry exec < bootstrap_project.py`.
# Idempotent: finds or creates the app's project in the org `sentry upgrade` made, its DSN key, and (when
# WANT_TOKEN=1) a read-only API token for Grafana's Sentry datasource. Prints KEY=VALUE lines.
import os

from sentry.models.apitoken import ApiToken
from sentry.models.organization import Organization
from sentry.models.project import Project
from sentry.models.projectkey import ProjectKey
from sentry.models.team import Team

try:
    from sentry.users.models.user import User
except ImportError:  # releases before the users app split
    from sentry.models.user import User

org = Organization.objects.get(slug=os.environ["SENTRY_ORG"])
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
    user = User.objects.get(email=os.environ["SENTRY_ADMIN_EMAIL"])
    token = ApiToken.objects.create(
        user=user, name="grafana-sentry-datasource", scope_list=["org:read", "project:read", "event:read"]
    )
    print(f"GRAFANA_SENTRY_TOKEN={getattr(token, 'plaintext_token', None) or token.token}")
