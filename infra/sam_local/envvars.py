"""The `--env-vars` file for `sam local invoke`, from a stack deployed into the emulator.

`sam local` resolves a `Ref` to a table or queue as its logical id, so each function's variables
are overridden with the physical names the deployer created. sam only applies variables the
template declares: a function that does not declare `AWS_ENDPOINT_URL` would call real AWS from
its container, so that is an error here, not a surprise at invoke time.
"""

from __future__ import annotations

from localcloud.model import DeployedStack

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"


class UndeclaredEndpoint(Exception):
    pass


def sam_env_vars(stack: DeployedStack, endpoint: str) -> dict[str, dict[str, str]]:
    """`{FunctionLogicalId: {VARIABLE: value}}` with every declared variable resolved."""
    undeclared = [name for name, spec in stack.functions.items() if spec.environment.get(ENDPOINT_VARIABLE) != endpoint]
    if undeclared:
        raise UndeclaredEndpoint(
            f"{', '.join(sorted(undeclared))}: the template does not set {ENDPOINT_VARIABLE} to the emulator "
            f"({endpoint}) for these functions; sam local passes only declared variables. Declare it in "
            f"Globals.Function.Environment from a parameter (see docs/emulators.md)."
        )
    return {name: dict(spec.environment) for name, spec in stack.functions.items()}
