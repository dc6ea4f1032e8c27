"""SSM parameters."""

from __future__ import annotations

from typing import Any

from localcloud.deploy.provisioners.base import Context, Outcome, provisioner


@provisioner("AWS::SSM::Parameter", "ssm", "Name Type Value Description AllowedPattern Tier DataType Tags")
def parameter(ctx: Context, logical_id: str, props: dict[str, Any]) -> Outcome:
    ssm = ctx.client("ssm")
    name = ctx.name(logical_id, props.get("Name"), max_len=2048)
    kind = props.get("Type", "String")
    value = ",".join(props["Value"]) if isinstance(props["Value"], list) else str(props["Value"])
    try:
        current = ssm.get_parameter(Name=name)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        current = None
    if current is not None and current["Value"] == value and current["Type"] == kind:
        action = "unchanged"
    else:
        kwargs: dict[str, Any] = {"Name": name, "Value": value, "Type": kind, "Overwrite": current is not None}
        for key in ("Description", "AllowedPattern", "Tier", "DataType"):
            if key in props:
                kwargs[key] = props[key]
        ssm.put_parameter(**kwargs)
        action = "updated" if current else "created"
    return Outcome(name, {"Type": kind, "Value": value}, action)  # type: ignore[arg-type]


PROVISIONERS = (parameter,)
