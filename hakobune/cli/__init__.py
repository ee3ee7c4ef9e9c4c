"""The `hakobune` command line: Docker's commands and flags, parsed and printed
here, carried out by the engine; engine errors become exit codes in one place."""
