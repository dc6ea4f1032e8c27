"""What tests share: waits that read state, event builders, a Lambda context, the retrying API client.

Importable as `support` from every test package (pyproject.toml puts tests/ on pytest's pythonpath).
"""
