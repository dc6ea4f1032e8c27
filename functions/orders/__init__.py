"""The order domain: plain typed Python, no boto3. Handlers adapt events to it; adapters persist it."""
