"""deploy/aws, read as AWS would read it: what the task definitions run and set, where secrets
come from, tags, the beat's one-task rule, the nested stacks' wiring, and the data tiers'
protections. (cfn-lint and the moto stack tests are in tests/delivery/connectors.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cfnlint.decode import decode
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from tests.test_project_files import documented_settings

ROOT = Path(__file__).resolve().parents[1]
AWS = ROOT / "deploy" / "aws"
SECRET_SETTINGS = {
    "SECRET_KEY",
    "FORMBRIDGE_ENCRYPTION_KEYS",
    "DATABASE_PASSWORD",
    "REDIS_PASSWORD",
}


def template(name: str) -> dict:
    decoded, problems = decode(str(AWS / name))
    assert not problems, problems
    return decoded


def resources(name: str, kind: str) -> dict[str, dict]:
    return {
        key: resource["Properties"]
        for key, resource in template(name)["Resources"].items()
        if resource["Type"] == kind
    }


def app_containers() -> dict[str, dict]:
    """The FormBridge container of each task definition (the collector sidecar left out)."""
    tasks = resources("services.yaml", "AWS::ECS::TaskDefinition")
    return {
        key.removesuffix("Task").lower(): next(
            c
            for c in task["ContainerDefinitions"]
            if isinstance(c, dict) and c.get("Name") == "app"
        )
        for key, task in tasks.items()
    }


def names_set(container: dict) -> set[str]:
    """Every variable a container sets, the conditional ones (Fn::If) included."""
    names = set()
    for entry in container.get("Environment", []) + container.get("Secrets", []):
        if "Fn::If" in entry:
            names |= {e["Name"] for e in entry["Fn::If"][1:] if isinstance(e, dict) and "Name" in e}
        else:
            names.add(entry["Name"])
    return names


def test_every_variable_the_tasks_set_is_in_env_example():
    documented = set(documented_settings())
    for process, container in app_containers().items():
        unknown = sorted(names_set(container) - documented)
        assert not unknown, f"{process} sets what .env.example does not list: {unknown}"


def test_the_tasks_run_the_procfiles_commands_and_the_release_task_migrates():
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    containers = app_containers()
    assert set(containers) == {"web", "worker", "beat", "release"}
    for process in ("web", "worker", "beat"):
        expected = procfile[process].replace(".venv/bin/", "").split()
        assert containers[process]["Command"][: len(expected)] == expected, process
        assert names_set(containers[process]) >= {"MIGRATE"}
        assert {"Name": "MIGRATE", "Value": "0"} in containers[process]["Environment"], process
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert containers["release"]["Command"] == compose["migrate"]["command"]


def test_secrets_come_from_secrets_manager_never_plain_environment():
    for process, container in app_containers().items():
        plain = {e["Name"] for e in container["Environment"] if "Name" in e}
        injected = {s["Name"] for s in container["Secrets"]}
        assert not plain & SECRET_SETTINGS, process
        assert injected == SECRET_SETTINGS, process
        for value in container["Environment"]:
            if "Value" in value and isinstance(value["Value"], str):
                assert "password" not in value["Value"].lower(), process


def test_web_answers_behind_https_with_readyz_as_target_health():
    (group,) = resources("services.yaml", "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert group["HealthCheckPath"] == "/readyz"
    assert group["Port"] == 8000 and group["TargetType"] == "ip"
    listeners = resources("services.yaml", "AWS::ElasticLoadBalancingV2::Listener")
    https = listeners["HttpsListener"]
    assert https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert listeners["HttpRedirectListener"]["DefaultActions"][0]["Type"] == "redirect"


def test_beat_is_exactly_one_task_and_deployments_never_run_two():
    services = resources("services.yaml", "AWS::ECS::Service")
    beat = services["BeatService"]
    assert beat["DesiredCount"] == 1
    assert beat["DeploymentConfiguration"]["MaximumPercent"] == 100
    assert beat["DeploymentConfiguration"]["MinimumHealthyPercent"] == 0
    for name in ("WebService", "WorkerService"):
        # Autoscaling owns their counts; a DesiredCount would reset it on each update.
        assert "DesiredCount" not in services[name], name


def test_autoscaling_web_on_cpu_and_requests_worker_on_backlog_and_cpu():
    policies = resources("services.yaml", "AWS::ApplicationAutoScaling::ScalingPolicy")
    metric = {
        name: policy["TargetTrackingScalingPolicyConfiguration"]
        for name, policy in policies.items()
    }
    web = {"WebCpuScaling", "WebRequestScaling"}
    assert {metric[n]["PredefinedMetricSpecification"]["PredefinedMetricType"] for n in web} == {
        "ECSServiceAverageCPUUtilization",
        "ALBRequestCountPerTarget",
    }
    backlog = metric["WorkerBacklogScaling"]["CustomizedMetricSpecification"]["Metrics"]
    published = {
        q["MetricStat"]["Metric"]["MetricName"]
        for q in backlog
        if q.get("MetricStat", {}).get("Metric", {}).get("Namespace") == "FormBridge"
    }
    assert published == {"formbridge_deliveries_due"}
    beat = app_containers()["beat"]
    assert {"Name": "CLOUDWATCH_METRICS_NAMESPACE", "Value": "FormBridge"} in beat["Environment"]
    assert (
        metric["WorkerCpuScaling"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "ECSServiceAverageCPUUtilization"
    )


def test_each_process_has_its_own_task_role_and_its_own_log_group_with_retention():
    tasks = resources("services.yaml", "AWS::ECS::TaskDefinition")
    roles = [t["TaskRoleArn"]["Fn::GetAtt"][0] for k, t in tasks.items() if "TaskRoleArn" in t]
    assert sorted(roles) == ["BeatTaskRole", "ReleaseTaskRole", "WebTaskRole", "WorkerTaskRole"]
    groups = [
        c["LogConfiguration"]["Options"]["awslogs-group"]["Ref"] for c in app_containers().values()
    ]
    assert len(set(groups)) == 4
    for name, group in resources("services.yaml", "AWS::Logs::LogGroup").items():
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


@pytest.mark.parametrize("name", sorted(p.name for p in AWS.glob("*.yaml")))
def test_every_taggable_resource_carries_environment_and_service(name):
    for key, resource in template(name)["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource["Type"])
        if "Tags" not in schema.schema.get("properties", {}):
            continue
        tags = resource["Properties"].get("Tags", [])
        keys = {tag["Key"] for tag in tags} if isinstance(tags, list) else set(tags)
        assert {"Environment", "Service"} <= keys, f"{name}: {key}"


# A nested template's parameter the root stack does not pass is one nobody deploying the bundle
# can set (the AWS connectors' target ARNs were: every sqs destination was denied).
NOT_FROM_THE_ROOT = {
    ("Secrets", "DatabaseUsername"): "the tasks' DATABASE_URL names the user formbridge",
}


def test_the_root_stack_passes_each_nested_template_what_it_declares():
    for key, stack in resources("formbridge.yaml", "AWS::CloudFormation::Stack").items():
        child = template(stack["TemplateURL"].removeprefix("./"))
        declared = child["Parameters"]
        passed = set(stack["Parameters"])
        assert passed <= set(declared), f"{key} passes unknown {passed - set(declared)}"
        unreachable = {n for n in declared if n not in passed and (key, n) not in NOT_FROM_THE_ROOT}
        assert not unreachable, f"the root stack cannot set {key}'s {sorted(unreachable)}"


def test_the_database_is_encrypted_backed_up_tls_only_and_multi_az_by_parameter():
    (instance,) = resources("database.yaml", "AWS::RDS::DBInstance").values()
    assert instance["StorageEncrypted"] is True
    assert instance["BackupRetentionPeriod"] == {"Ref": "BackupRetentionDays"}
    assert instance["MultiAZ"] == {"Ref": "MultiAZ"}
    assert instance["PubliclyAccessible"] is False
    assert "resolve:secretsmanager" in instance["MasterUserPassword"]["Fn::Sub"]
    (parameters,) = resources("database.yaml", "AWS::RDS::DBParameterGroup").values()
    assert parameters["Parameters"]["rds.force_ssl"] == "1"


def test_redis_speaks_tls_and_auth():
    (group,) = resources("cache.yaml", "AWS::ElastiCache::ReplicationGroup").values()
    assert group["TransitEncryptionEnabled"] is True
    assert group["AtRestEncryptionEnabled"] is True
    assert "resolve:secretsmanager" in group["AuthToken"]["Fn::Sub"]
    for container in app_containers().values():
        for entry in container["Environment"]:
            if entry.get("Name") in ("REDIS_URL", "CELERY_BROKER_URL"):
                assert entry["Value"]["Fn::Sub"].startswith("rediss://")


def _watched(alarm: dict) -> set[tuple[str, str]]:
    """(namespace, metric) an alarm reads: its own, its metric math's, its Metrics Insights'."""
    if "MetricName" in alarm:
        return {(alarm["Namespace"], alarm["MetricName"])}
    watched = set()
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            watched.add((metric["Namespace"], metric["MetricName"]))
        elif "SELECT" in str(query.get("Expression", "")):
            text = str(query["Expression"])
            namespace = text.split('SCHEMA("', 1)[1].split('"', 1)[0]
            watched.add((namespace, text.split("MAX(", 1)[1].split(")", 1)[0]))
    return watched


def test_alarms_watch_the_backlog_destinations_5xx_tasks_the_database_and_redis():
    alarms = resources("alarms.yaml", "AWS::CloudWatch::Alarm").values()
    watched = set().union(*(_watched(a) for a in alarms))
    assert watched == {
        ("FormBridge", "formbridge_oldest_due_delivery_age_seconds"),
        ("FormBridge", "formbridge_dead_letters"),
        # issue 30: one destination failing, tasks below desired, database CPU, Redis memory
        ("FormBridge", "formbridge_destination_deliveries_retrying"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("ECS/ContainerInsights", "DesiredTaskCount"),
        ("ECS/ContainerInsights", "RunningTaskCount"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"),
    }
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)
    # The figure the destination alarm reads is the one the worker publishes.
    from delivery import backlog

    assert "formbridge_destination_deliveries_retrying" in Path(backlog.__file__).read_text()


def test_every_log_group_has_a_retention_the_databases_included():
    groups = resources("database.yaml", "AWS::Logs::LogGroup")
    [(name, group)] = groups.items()
    assert group["LogGroupName"] == {
        "Fn::Sub": "/aws/rds/instance/formbridge-${Environment}/postgresql"
    }
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    instance = template("database.yaml")["Resources"]["Instance"]
    assert instance["DependsOn"] == name  # made before RDS would make it without a retention
    assert instance["Properties"]["DBInstanceIdentifier"] == {
        "Fn::Sub": "formbridge-${Environment}"
    }


def _statements(role: dict) -> list[dict]:
    """Every statement of a role's inline policies, the conditional ones (Fn::If) included."""
    policies = []
    for policy in role.get("Policies", []):
        if "Fn::If" in policy:
            policies += [
                p for p in policy["Fn::If"][1:] if isinstance(p, dict) and "PolicyName" in p
            ]
        else:
            policies.append(policy)
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


def test_a_task_reads_a_tenants_secret_references_only_through_the_tagged_reader_role():
    """Issue 27: one shared refs/* grant let any tenant's reference read any tenant's secret.
    Now no task role reads Secrets Manager references itself; it assumes the reader role with
    the tenant as session tag, and the reader role's policy names refs/<that tag>/*."""
    roles = resources("services.yaml", "AWS::IAM::Role")
    for name in ("WebTaskRole", "WorkerTaskRole", "BeatTaskRole", "ReleaseTaskRole"):
        for statement in _statements(roles[name]):
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            resource = str(statement["Resource"])
            assert not ("secretsmanager:GetSecretValue" in actions and "/refs/" in resource), name
    reader = roles["SecretReferenceReaderRole"]
    [read] = _statements(reader)
    assert read["Action"] == "secretsmanager:GetSecretValue"
    assert read["Resource"]["Fn::Sub"].endswith(
        ":secret:formbridge/${Environment}/refs/${!aws:PrincipalTag/formbridge-tenant}/*"
    )
    [trust] = reader["AssumeRolePolicyDocument"]["Statement"]
    assert set(trust["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    assert trust["Condition"]["Null"] == {"aws:RequestTag/formbridge-tenant": "false"}
    assert {p["Fn::GetAtt"][0] for p in trust["Principal"]["AWS"]} == {
        "WebTaskRole", "WorkerTaskRole", "ReleaseTaskRole"
    }  # fmt: skip
    for process in ("web", "worker"):
        environment = {
            e["Name"]: e["Value"] for e in app_containers()[process]["Environment"] if "Name" in e
        }
        assert environment["SECRET_REFS_ROLE_ARN"] == {
            "Fn::GetAtt": ["SecretReferenceReaderRole", "Arn"]
        }
        assert environment["SECRET_REFS_PREFIX"] == {"Fn::Sub": "formbridge/${Environment}/refs"}


def test_the_worker_that_runs_the_backlog_task_is_given_the_metrics_namespace():
    # Beat schedules delivery.publish_backlog; a worker runs it.
    assert {"CLOUDWATCH_METRICS_NAMESPACE", "CLOUDWATCH_METRICS_ENVIRONMENT"} <= names_set(
        app_containers()["worker"]
    )


def _docker_ignores(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or one of its parent
    folders decides; `!` re-includes."""
    from fnmatch import fnmatchcase

    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if any(fnmatchcase(prefix, bare) for prefix in prefixes):
            ignored = not negated
    return ignored


def test_the_image_never_takes_the_developers_secrets_or_state():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    kept_out = [
        ".env", ".env.local", "var/formbridge.sqlite3", "var/attachments/t/x.pdf",
        ".venv/bin/python", "tests/sources/js/node_modules/x.js", ".git/config",
        "dist/formbridge.zip", "core/__pycache__/ids.cpython-311.pyc",
        "clients/wordpress/formbridge/formbridge.php", "deploy/aws/services.yaml",
    ]  # fmt: skip
    for path in kept_out:
        assert _docker_ignores(path, patterns), path
    dockerfile = (ROOT / "Dockerfile").read_text().splitlines()
    copied = [
        line.split()[1] for line in dockerfile
        if line.startswith("COPY ") and "--from" not in line and line.split()[-2] != "."
    ]  # fmt: skip
    needed = ["manage.py", "deploy/entrypoint.sh", "deploy/gunicorn.conf.py", "Procfile",
              "formbridge/settings.py", "core/ids.py", *copied]  # fmt: skip
    for path in needed:
        assert not _docker_ignores(path, patterns), path


def test_deploy_builds_the_image_for_the_tasks_platform():
    platforms = {
        task["RuntimePlatform"]["CpuArchitecture"]
        for task in resources("services.yaml", "AWS::ECS::TaskDefinition").values()
    }
    assert platforms == {"X86_64"}
    guide = (ROOT / "docs" / "DEPLOY.md").read_text()
    assert "docker build --platform linux/amd64" in guide


def _actions(role: str) -> set[str]:
    """Every action a role's policies allow."""
    actions = set()
    for statement in _statements(resources("services.yaml", "AWS::IAM::Role")[role]):
        listed = statement["Action"]
        actions |= set(listed if isinstance(listed, list) else [listed])
    return actions


@pytest.mark.parametrize("role", ["WebTaskRole", "WorkerTaskRole"])
def test_erase_and_purge_may_delete_every_version_of_a_file(role):
    needed = {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucketVersions"}
    assert needed <= _actions(role)


def test_the_versioned_bucket_forgets_noncurrent_versions():
    bucket = resources("data.yaml", "AWS::S3::Bucket")["FilesBucket"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == 1 for r in rules)


def test_the_release_task_runs_any_manage_py_command_with_the_workers_settings_and_a_role():
    """DEPLOY.md runs every one-off `manage.py` command in the release task: the migrate task it
    replaces had no role and no Redis, broker, bucket or mirror settings, so `mirror
    create-table`, backfill, verify and erasing files failed there."""
    containers = app_containers()
    worker_only = {"OTEL_EXPORTER_OTLP_ENDPOINT"}  # the tracing sidecar runs with services only
    assert names_set(containers["worker"]) - worker_only <= names_set(containers["release"])
    release = resources("services.yaml", "AWS::ECS::TaskDefinition")["ReleaseTask"]
    assert release["TaskRoleArn"] == {"Fn::GetAtt": ["ReleaseTaskRole", "Arn"]}
    assert {"dynamodb:CreateTable", "dynamodb:BatchWriteItem", "dynamodb:Query",
            "s3:DeleteObjectVersion", "sts:AssumeRole"} <= _actions("ReleaseTaskRole")  # fmt: skip


def test_the_load_balancer_writes_access_logs_the_region_allows_and_expires():
    (balancer,) = resources("services.yaml", "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in balancer["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": "AccessLogsBucket"}
    bucket = resources("services.yaml", "AWS::S3::Bucket")["AccessLogsBucket"]
    [rule] = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # Older Regions deliver from ELB's own account, newer ones as a service principal.
    mapping = template("services.yaml")["Mappings"]["ElbLogDelivery"]
    assert mapping["us-east-1"]["AccountId"] == "127311923021"
    policy = resources("services.yaml", "AWS::S3::BucketPolicy")["AccessLogsBucketPolicy"]
    statements = policy["PolicyDocument"]["Statement"]
    assert statements[0]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    assert "Fn::If" in statements[1] and statements[1]["Fn::If"][0] == "LegacyElbRegion"


def test_every_accepted_checkov_finding_says_why_and_docs_list_it():
    """`make lint` runs checkov; what it would flag and we accept is skipped at the resource,
    with its reason, and listed in docs/DEPLOY.md (an operator's security review reads both)."""
    deploy_md = (ROOT / "docs" / "DEPLOY.md").read_text()
    skipped = []
    for path in sorted(AWS.glob("*.yaml")):
        for name, resource in template(path.name).get("Resources", {}).items():
            for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                skipped.append((path.name, name, entry["id"]))
                assert len(entry.get("comment", "")) > 20, (path.name, name, entry)
                assert entry["id"] in deploy_md and name in deploy_md, (name, entry["id"])
    assert skipped


def test_the_walk_through_names_only_what_the_templates_declare():
    """docs/DEPLOY.md's commands match the templates: every stack parameter it sets is one the
    root stack declares, and every output it (or deploy/aws/release.py) reads is one it gives."""
    import re

    guide = (ROOT / "docs" / "DEPLOY.md").read_text()
    root = template("formbridge.yaml")
    set_there = set(re.findall(r"\b([A-Z][a-z]+(?:[A-Z][A-Za-z]*)+)=", guide)) - {"OutputKey"}
    assert set_there and set_there <= set(root["Parameters"]), set_there - set(root["Parameters"])
    release = (AWS / "release.py").read_text()
    read = set(re.findall(r"OutputKey=='(\w+)'", guide)) | set(
        re.findall(r'outputs\["(\w+)"\]', release)
    )
    read -= {"RepositoryUri"}  # registry.yaml's, a stack of its own
    assert read and read <= set(root["Outputs"]), read - set(root["Outputs"])
    assert "RepositoryUri" in template("registry.yaml")["Outputs"]
