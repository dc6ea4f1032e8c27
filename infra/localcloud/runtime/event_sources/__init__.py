"""Lambda's event sources, run by the local runtime: SQS and DynamoDB stream mappings, schedules.

`base` (lifecycle, backoff, a stop that ends long polls), one module per source (`sqs`,
`dynamodb_stream`, `schedule`), one processing step (`processing`: filters, invoking,
`batchItemFailures`), `rules` (AWS's defaults, limits and validation, applied at deploy),
`filters` (the pattern matcher) and `destinations` (on-failure and async destinations).
"""
