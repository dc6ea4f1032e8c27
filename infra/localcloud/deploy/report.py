"""A deploy report as text, one resource a line, the way people read `sam deploy` output."""

from __future__ import annotations

from collections import Counter

from localcloud.model import DeployedStack, ReportLine


def format_report(lines: list[ReportLine]) -> str:
    width = max((len(line.logical_id) for line in lines), default=0)
    rows = [f"{line.action:<11} {line.logical_id:<{width}}  {line.type}" + (f"  ({line.detail})" if line.detail else "") for line in lines]
    counts = Counter(line.action for line in lines)
    rows.append(", ".join(f"{count} {action}" for action, count in sorted(counts.items())))
    return "\n".join(rows)


def format_stack(stack: DeployedStack) -> str:
    """The report plus outputs: what `orderflow deploy` prints."""
    parts = [format_report(stack.report)]
    if stack.outputs:
        parts.append("Outputs:")
        parts += [f"  {name} = {value}" for name, value in stack.outputs.items()]
    return "\n".join(parts)
