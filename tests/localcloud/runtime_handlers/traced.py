"""A handler traced as the project's are: powertools' Tracer created at import, the handler captured.

On Lambda (LAMBDA_TASK_ROOT set) the X-Ray SDK builds its Lambda recorder when it is first
imported; an SDK imported anywhere else builds another one, and the captured handler fails.
"""

from aws_lambda_powertools import Tracer

tracer = Tracer(service="traced")


@tracer.capture_lambda_handler
def handler(event, context):
    tracer.put_annotation(key="order_id", value="o-1")
    return "traced"
