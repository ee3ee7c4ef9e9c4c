"""Test support shipped with the package: builders of root filesystems and
bundles that the test suite, the benchmarks and the README's first command use."""
