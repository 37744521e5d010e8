"""AWS::SecretsManager::Secret for moto's CloudFormation, which lacks it (moto 5.2.5 logs "No Moto
CloudFormation support" and creates nothing). Imported into the in-process moto server the
tests run (tests/conftest.moto_server), so deploy/aws/secrets.yaml creates real secrets in
moto's own Secrets Manager, as AWS documents the resource: `Name` (or a generated one),
`SecretString`, or `GenerateSecretString` (a password of `PasswordLength`, honouring the
exclusions, put under `GenerateStringKey` in the JSON `SecretStringTemplate`); `Ref` is the ARN.
"""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation import parsing
from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import secretsmanager_backends


class CloudFormationSecret(CloudFormationModel):
    def __init__(self, arn: str, name: str) -> None:
        self.arn, self.name = arn, name

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudFormationSecret:
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        name = properties.get("Name", resource_name)
        value = properties.get("SecretString")
        generate = properties.get("GenerateSecretString")
        if generate is not None:
            password = json.loads(
                backend.get_random_password(
                    password_length=int(generate.get("PasswordLength", 32)),
                    exclude_characters=generate.get("ExcludeCharacters", ""),
                    exclude_numbers=bool(generate.get("ExcludeNumbers", False)),
                    exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
                    exclude_uppercase=bool(generate.get("ExcludeUppercase", False)),
                    exclude_lowercase=bool(generate.get("ExcludeLowercase", False)),
                    include_space=bool(generate.get("IncludeSpace", False)),
                    require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
                )
            )["RandomPassword"]
            if "GenerateStringKey" in generate:
                template = json.loads(generate.get("SecretStringTemplate", "{}"))
                value = json.dumps({**template, generate["GenerateStringKey"]: password})
            else:
                value = password
        created = json.loads(
            backend.create_secret(
                name=name,
                secret_string=value,
                secret_binary=None,
                description=properties.get("Description"),
                tags=properties.get("Tags"),
                kms_key_id=properties.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return cls(created["ARN"], name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ) -> CloudFormationSecret:
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name, cloudformation_json, account_id, region_name
    ) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        name = cloudformation_json["Properties"].get("Name", resource_name)
        backend.delete_secret(
            secret_id=name, recovery_window_in_days=None, force_delete_without_recovery=True
        )

    def is_created(self) -> bool:
        return True


# The model map is built once from CloudFormationModel's subclasses; build it again with ours.
parsing.get_model_map.cache_clear()
parsing.get_name_type_map.cache_clear()
assert "AWS::SecretsManager::Secret" in parsing.get_model_map()
