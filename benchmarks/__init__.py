"""Benchmarks of micrograd_c against its pure-Python reference, micrograd and PyTorch.

    python -m benchmarks            # the table in benchmarks/README.md (a few minutes)
    python -m benchmarks --quick    # small sizes, for CI
    python -m benchmarks.breakdown  # where the time of one op goes

See benchmarks/README.md for what each workload measures.
"""
