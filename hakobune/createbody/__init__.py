"""Docker's create body (POST /containers/create) from the values of `run`'s
and `create`'s options, as the docker CLI builds it: `runopts` (Config and
HostConfig), `netopts` (NetworkMode, ports, DNS, endpoints), `mounts` (-v,
--mount, --tmpfs, --volumes-from), with the value kinds of Docker's flags
(`kinds`: sizes, CPUs, ulimits, key=value lists; `gosyntax`: Go's bools,
durations and quoting).  The CLI's flags and compose's service keys both
come here, so a container is the same whichever shell creates it; what the
daemon checks is the engine's (hakobune.engine.create)."""
