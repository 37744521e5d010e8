"""The DynamoDB mirror's table: its one definition, read by `manage.py mirror create-table`, the
tests and the deploy bundle (deploy/aws/dynamodb-table.json is written from it and a test holds
the two equal).

Single-table design: submissions under their tenant's write shards, delivery attempts under
their submission, two overloaded GSIs (by tenant and time; by status), and a TTL attribute.
"""

from __future__ import annotations

import copy
from typing import Any

TTL_ATTRIBUTE = "ttl"
DEFAULT_NAME = "formbridge-mirror"
GSI_BY_TENANT = "GSI1"
GSI_BY_STATUS = "GSI2"

_KEYS = ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")

DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in _KEYS],
    "KeySchema": [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": index,
            "KeySchema": [
                {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for index in (GSI_BY_TENANT, GSI_BY_STATUS)
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "SSESpecification": {"Enabled": True},
}


def definition(table_name: str) -> dict[str, Any]:
    """CreateTable's arguments for a table of this name."""
    return {"TableName": table_name, **copy.deepcopy(DEFINITION)}


def create_table(client: Any, table_name: str) -> bool:
    """Create the table (and its TTL) unless it exists; True when created."""
    try:
        client.create_table(**definition(table_name))
    except client.exceptions.ResourceInUseException:
        return False
    client.get_waiter("table_exists").wait(TableName=table_name)
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return True
