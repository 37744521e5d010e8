import factory

from formbridge.onboarding import tenant_onboard
from tenants import services
from tenants.models import Tenant


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    id = factory.Sequence(lambda n: f"t_tenant{n}")
    name = factory.LazyAttribute(lambda o: f"Tenant {o.id}")


def tenant_with_secret(
    tenant_id: str = "t_acme", *, with_inbox: bool = False, **fields
) -> services.TenantWithSecret:
    """A tenant created through the service, as an operator would, with its plaintext secret
    (without the default inbox unless asked: most tests count deliveries to their own)."""
    created = tenant_onboard(tenant_id=tenant_id, with_inbox=with_inbox)
    if fields:
        Tenant.objects.filter(pk=tenant_id).update(**fields)
        created.tenant.refresh_from_db()
    return created
