"""LocalCloud: config parameters and sidecars feed the deploy; the runtime serves routes and consumes queues."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from localcloud.cloud import LocalCloud, LocalCloudError, choose_endpoints

TEMPLATES = Path(__file__).parent / "templates"


class TinySidecar:
    """The smallest sidecar: a URL and a record of its lifecycle."""

    started: list[str] = []
    stopped: list[str] = []

    def start(self) -> str:
        TinySidecar.started.append("tiny")
        return "http://127.0.0.1:1/tiny"

    def stop(self) -> None:
        TinySidecar.stopped.append("tiny")


def write_config(tmp_path: Path, factory: str) -> Path:
    config = tmp_path / "localcloud.toml"
    config.write_text(
        '[parameters]\nStage = "local"\n\n'
        f'[[sidecars]]\nname = "tiny"\nfactory = "{factory}"\nparameter = "SidecarUrl"\n'
    )
    return config


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def test_cloud_deploys_with_config_and_sidecar_and_serves_the_api(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"{__name__}:TinySidecar")
    TinySidecar.started.clear()
    TinySidecar.stopped.clear()
    cloud = LocalCloud(template=TEMPLATES / "deploy_api.yaml", stack_name="facade", config=config, log_dir=tmp_path / "logs")
    with cloud:
        assert cloud.api_url.startswith("http://127.0.0.1:")
        assert cloud.stack.parameters["Stage"] == "local"
        assert cloud.stack.parameters["SidecarUrl"] == "http://127.0.0.1:1/tiny"

        body = get_json(cloud.api_url + "/describe/widget")
        assert body == {
            "name": "widget",
            "stage": "local",
            "sidecar_url": "http://127.0.0.1:1/tiny",
            "queue_url": cloud.stack.physical_id("WorkQueue"),
        }

        cloud.client("sqs").send_message(QueueUrl=cloud.stack.physical_id("WorkQueue"), MessageBody="item-1")
        table = cloud.stack.physical_id("ItemsTable")
        deadline = time.monotonic() + 30
        items: list = []
        while time.monotonic() < deadline and not items:
            items = cloud.client("dynamodb").scan(TableName=table)["Items"]
            time.sleep(0.2)
        assert items == [{"pk": {"S": "item-1"}}]
    assert TinySidecar.stopped == ["tiny"]
    with pytest.raises(LocalCloudError):
        _ = cloud.runtime
    with pytest.raises(LocalCloudError):
        _ = cloud.api_url


def test_explicit_parameters_win_over_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, f"{__name__}:TinySidecar")
    with LocalCloud(
        template=TEMPLATES / "deploy_api.yaml",
        stack_name="facade2",
        config=config,
        parameters={"Stage": "explicit", "SidecarUrl": "http://127.0.0.1:2/"},
        serve_http=False,
        log_dir=tmp_path / "logs",
    ) as cloud:
        assert cloud.stack.parameters["Stage"] == "explicit"
        assert cloud.stack.parameters["SidecarUrl"] == "http://127.0.0.1:2/"


def test_a_sidecar_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, "no_such_module_anywhere:Thing")
    cloud = LocalCloud(template=TEMPLATES / "deploy_api.yaml", stack_name="facade3", config=config, log_dir=tmp_path / "logs")
    with pytest.raises(LocalCloudError, match="sidecar 'tiny': cannot load 'no_such_module_anywhere:Thing'"):
        cloud.start()


def test_endpoint_choice_explicit_environment_or_embedded_mix() -> None:
    explicit, needs_moto = choose_endpoints("http://127.0.0.1:4566", {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert (explicit.default, needs_moto) == ("http://127.0.0.1:4566", False)
    from_env, needs_moto = choose_endpoints(None, {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert (from_env.default, needs_moto) == ("http://127.0.0.1:5000", False)
    mix, needs_moto = choose_endpoints(None, {"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4566"})
    assert (mix.default, dict(mix.per_service), needs_moto) == (None, {"sqs": "http://127.0.0.1:4566"}, True)
