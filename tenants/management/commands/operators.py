"""manage.py operators: give staff users the run of some tenants in the admin."""

from django.contrib.auth import get_user_model

from core.cli import SubcommandCommand, add_json_flag, format_table, require
from tenants.cli import tenant_named
from tenants.operators import ROLES, operator_grant, operator_revoke


class Command(SubcommandCommand):
    help = "Grant or revoke a staff user's access to a tenant's objects in the admin."

    def add_arguments(self, parser):
        sub = self.add_subcommands(parser)
        grant = sub.add_parser("grant", help="Make a user an operator of a tenant.")
        grant.add_argument("username")
        grant.add_argument("tenant")
        grant.add_argument("--role", choices=sorted(ROLES), default="operator")
        revoke = sub.add_parser("revoke", help="Take a tenant away from a user.")
        revoke.add_argument("username")
        revoke.add_argument("tenant")
        listing = sub.add_parser("list", help="List operators and their tenants.")
        add_json_flag(listing)

    def _user(self, username):
        user_model = get_user_model()
        return require(
            user_model.objects.filter(**{user_model.USERNAME_FIELD: username}).first(),
            f"No user {username!r} (create one with createsuperuser or the admin).",
        )

    def handle_grant(self, *, username, tenant, role, **options):
        user, tenant = self._user(username), tenant_named(tenant)
        operator_grant(user=user, tenant=tenant, role=role)
        self.stdout.write(f"{username} is now a {role} of {tenant.id}")

    def handle_revoke(self, *, username, tenant, **options):
        user, tenant = self._user(username), tenant_named(tenant)
        operator_revoke(user=user, tenant=tenant)
        self.stdout.write(f"{username} no longer operates {tenant.id}")

    def handle_list(self, **options):
        users = get_user_model().objects.filter(operated_tenants__isnull=False).distinct()
        rows = [
            {
                "username": u.get_username(),
                "roles": sorted(g.name for g in u.groups.all()),
                "tenants": sorted(u.operated_tenants.values_list("id", flat=True)),
            }
            for u in users.prefetch_related("groups")
        ]
        self.emit(
            options,
            rows,
            format_table(
                ["USER", "ROLES", "TENANTS"],
                [[r["username"], ", ".join(r["roles"]), ", ".join(r["tenants"])] for r in rows],
            ),
        )
