"""CloudWatch embedded metric format: a JSON log line that CloudWatch Logs turns into metrics.

On ECS the awslogs driver ships a container's stdout to CloudWatch Logs, which extracts the
metrics from any line carrying the `_aws` block: no agent, no PutMetricData call, no
credentials. The line goes to the process's real stdout (logger `formbridge.emf`, configured
in settings to write the message alone), never wrapped in the JSON log envelope, which
CloudWatch would not recognise.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

logger = logging.getLogger("formbridge.emf")


def document(
    *,
    namespace: str,
    dimensions: dict[str, str],
    metrics: dict[str, tuple[float, str]],
    when: datetime,
) -> dict[str, Any]:
    """The EMF object: metric values at the top level beside the dimension values, described by
    the `_aws` metadata (names, units, one dimension set)."""
    return {
        "_aws": {
            "Timestamp": int(when.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [
                        {"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()
                    ],
                }
            ],
        },
        **dimensions,
        **{name: value for name, (value, _) in metrics.items()},
    }


def emit(**fields: Any) -> dict[str, Any]:
    line = document(**fields)
    logger.info(json.dumps(line))
    return line
