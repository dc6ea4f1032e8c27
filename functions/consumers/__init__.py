"""What the fan-out consumers decide, without AWS.

Each module turns a domain event into the side effect's content and address (a receipt and
its key, a shipment item, a lake record, a search document, an archive key, an import
plan), so the rules are tested as plain functions and the handlers only do the writes.
"""
