"""The deployer: `template.yaml` in, resources at the endpoints and a `DeployedStack` out.

    from localcloud.deploy import deploy, DeployError
    stack = deploy(Path("template.yaml"), endpoints, stack_name="orderflow", parameters={"Stage": "local"})
"""

from localcloud.deploy.deployer import deploy
from localcloud.deploy.errors import DeployError, TemplateError
from localcloud.deploy.report import format_report

__all__ = ["DeployError", "TemplateError", "deploy", "format_report"]
