"""The far ends the tenant-boundary tests attack through: moto's AWS (the worker's credentials)
and a drain that settles every delivery, as the connector tests use them."""

from tests.delivery.connectors.conftest import aws_stack, deliver, secrets  # noqa: F401 (fixtures)
