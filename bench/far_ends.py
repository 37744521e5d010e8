"""The far end of every connector kind, on loopback, for the benches that deliver to them.

moto's server (SQS, EventBridge, S3, DynamoDB), the aiohttp sink (REST), the Slack, HubSpot and
Salesforce stand-ins of the test suite, and an aiosmtpd server (e-mail). `FarEnds` starts them,
sets the environment the worker needs to reach them, and gives each kind's destination config,
creating the AWS resources it names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import boto3
from aiosmtpd.controller import Controller

from bench.delivery import start, stop, wait_port
from bench.ingest import PYTHON, free_port, manage
from tests.vendors import HubSpot, Salesforce, Slack

REGION = "us-east-1"
SLACK_TOKEN = "xoxb-bench-0000-abcdefghijklmnop"
HUBSPOT_TOKEN = "pat-na1-bench-0000-1111-2222-333333333333"
SF_CLIENT_ID = "3MVG9-bench"
SF_SECRET = "bench-consumer-secret-0123456789"


class Mailbox:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


@dataclass
class Destination:
    kind: str
    config: dict
    secret: str = ""


@dataclass
class FarEnds:
    env: dict
    mailbox: Mailbox = field(default_factory=Mailbox)

    def __enter__(self) -> FarEnds:
        self.moto_port, self.sink_port = free_port(), free_port()
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"
        self.sink_url = f"http://127.0.0.1:{self.sink_port}/hook"
        cmd = [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)]
        self.moto = start(cmd, self.env)
        self.sink = start([PYTHON, "bench/sink.py", str(self.sink_port)], self.env)
        self.slack = Slack(token=SLACK_TOKEN).start()
        self.hubspot = HubSpot(token=HUBSPOT_TOKEN).start()
        self.salesforce = Salesforce(client_id=SF_CLIENT_ID, client_secret=SF_SECRET).start()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        aws = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
               "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.moto_url}  # fmt: skip
        self.env.update(aws, SLACK_API_BASE=self.slack.base, HUBSPOT_API_BASE=self.hubspot.base)
        os.environ.update(aws)  # this process's boto3 clients reach moto too
        wait_port(self.moto_port)
        wait_port(self.sink_port)
        return self

    def __exit__(self, *exc) -> None:
        for server in (self.slack, self.hubspot, self.salesforce):
            server.stop()
        self.smtp.stop()
        stop(self.sink)
        stop(self.moto)

    def client(self, service: str):
        return boto3.client(service, region_name=REGION)

    # Each kind's destination; the AWS ones create what they name (idempotent in moto).
    def rest(self) -> Destination:
        return Destination("rest", {"url": self.sink_url})

    def sqs(self, queue: str = "bench") -> Destination:
        url = self.client("sqs").create_queue(QueueName=queue)["QueueUrl"]
        return Destination("sqs", {"queue_url": url})

    def eventbridge(self, bus: str = "bench") -> Destination:
        events = self.client("events")
        if bus not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
            events.create_event_bus(Name=bus)
        return Destination("eventbridge", {"event_bus": bus})

    def s3(self, bucket: str = "bench") -> Destination:
        self.client("s3").create_bucket(Bucket=bucket)
        return Destination("s3", {"bucket": bucket})

    def dynamodb(self, table: str = "bench-mirror") -> Destination:
        existing = self.client("dynamodb").list_tables()["TableNames"]
        if table not in existing:
            manage(self.env, "mirror", "create-table", "--table", table)
        return Destination("dynamodb", {"table": table})

    def slack_channel(self) -> Destination:
        return Destination("slack", {"channel": "C0SALES"}, SLACK_TOKEN)

    def email(self) -> Destination:
        return Destination("email", {
            "to": ["sales@example.com"], "subject": "Lead {{ form_id }}",
            "text_template": "{{ payload }}", "smtp_url": f"smtp://127.0.0.1:{self.smtp.port}",
        })  # fmt: skip

    def hubspot_contacts(self) -> Destination:
        return Destination("hubspot", {"mapping": {"email": "payload.email"}}, HUBSPOT_TOKEN)

    def salesforce_contacts(self) -> Destination:
        config = {
            "login_url": self.salesforce.base,
            "client_id": SF_CLIENT_ID,
            "sobject": "Contact",
            "external_id_field": "Ext__c",
            "mapping": {"Ext__c": "submission_id", "LastName": "payload.name"},
        }
        return Destination("salesforce", config, SF_SECRET)

    def every_push_kind(self) -> list[Destination]:
        return [self.rest(), self.sqs(), self.eventbridge(), self.s3(), self.dynamodb(),
                self.slack_channel(), self.email(), self.hubspot_contacts(),
                self.salesforce_contacts()]  # fmt: skip
