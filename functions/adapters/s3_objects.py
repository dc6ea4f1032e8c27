"""Objects in one S3 bucket, written once (conditional put) or derived (plain put)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from consumers.ports import Outcome


class S3Objects:
    """`WriteOnceObjects` and `DerivedObjects` over one bucket, with one content type."""

    def __init__(self, client: Any, bucket: str, content_type: str) -> None:
        self._client = client
        self._bucket = bucket
        self._content_type = content_type

    def put_once(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> Outcome:
        """A put with `If-None-Match: *`: S3 answers 412 when the key exists, and writes nothing.

        https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
        """
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType=self._content_type, IfNoneMatch="*", Metadata=metadata or {}
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "PreconditionFailed":
                raise
            return Outcome.DUPLICATE
        return Outcome.WRITTEN

    def put(self, key: str, body: bytes) -> Outcome:
        self._client.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=self._content_type)
        return Outcome.WRITTEN
