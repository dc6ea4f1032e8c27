"""The product catalog: `orderflow up` starts with the sample products (unless `--no-seed`), and
`orderflow seed FILE` loads a catalog of one's own into the running local cloud or a deployed stack.

The demo and the end-to-end tests seed the same sample (catalog.json). Plain boto3 on purpose:
this runs in the tooling's process (the `orderflow` CLI), which does not import the functions' code.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ordertools.targets import TargetError, add_target_arguments, target_from_args

CATALOG_FILE = Path(__file__).with_name("catalog.json")
CATALOG_TABLE = "CatalogTable"
_REQUIRED = ("sku", "name", "price_cents", "stock")


class CatalogFileError(TargetError):
    """A catalog file that cannot be loaded: the CLI names the file and the fault, and writes nothing."""


def load_products(path: Path = CATALOG_FILE) -> list[dict[str, Any]]:
    """Every product of a catalog file (a JSON list of {sku, name, price_cents, stock[, currency]}), all checked first."""
    try:
        products = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CatalogFileError(f"{path}: cannot read a JSON catalog: {error}") from error
    if not isinstance(products, list):
        raise CatalogFileError(f"{path}: a catalog is a JSON list of products")
    for index, product in enumerate(products):
        missing = [key for key in _REQUIRED if not isinstance(product, dict) or key not in product]
        if missing:
            raise CatalogFileError(f"{path}: product {index} lacks {', '.join(missing)}")
        for key in ("price_cents", "stock"):
            if not isinstance(product[key], int) or isinstance(product[key], bool) or product[key] < 0:
                raise CatalogFileError(f"{path}: product {index} ({product['sku']}): {key} must be a whole number >= 0")
    return products


def product_item(product: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog table's item for a product: sku, name, price_cents, currency, stock."""
    return {
        "sku": {"S": str(product["sku"])},
        "name": {"S": str(product["name"])},
        "price_cents": {"N": str(int(product["price_cents"]))},
        "currency": {"S": str(product.get("currency", "EUR"))},
        "stock": {"N": str(int(product["stock"]))},
    }


def seed(dynamodb: Any, table_name: str, products: Iterable[Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Put every product (replacing what is there, stock included); returns what was written."""
    written = [dict(p) for p in products] if products is not None else load_products()
    for product in written:
        dynamodb.put_item(TableName=table_name, Item=product_item(product))
    return written


class SeedOnUp:
    """`orderflow up` seeds the sample catalog once it runs, so a newcomer can list products and order at once."""

    @staticmethod
    def add_arguments(up: argparse.ArgumentParser) -> None:
        up.add_argument("--no-seed", action="store_true", help="start with an empty catalog (default: the sample products)")

    @staticmethod
    def started(cloud: Any, args: argparse.Namespace) -> None:
        if args.no_seed or CATALOG_TABLE not in cloud.stack.resources:
            return  # asked not to, or another application's template: it has no catalog to fill
        written = seed(cloud.client("dynamodb"), cloud.stack.physical_id(CATALOG_TABLE))
        print(f"catalog seeded with {len(written)} sample products ({CATALOG_FILE.name}; --no-seed to start empty)", flush=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("seed", help="load a catalog file (JSON list of products) into the stack's catalog table")
    parser.add_argument("file", type=Path, nargs="?", default=CATALOG_FILE, help="catalog file (default: the sample catalog)")
    add_target_arguments(parser)
    parser.set_defaults(handler=_cmd_seed)


def _cmd_seed(args: argparse.Namespace) -> int:
    products = load_products(args.file)  # all checked before anything is written
    target = target_from_args(args)
    written = seed(target.client("dynamodb"), target.physical_id(CATALOG_TABLE, "AWS::DynamoDB::Table"), products)
    print(f"{len(written)} products written to {target.stack_name}'s {CATALOG_TABLE}")
    return 0
