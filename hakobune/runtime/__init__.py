"""hakobune's OCI runtime (the role of runc): runs an OCI bundle as a process
in namespaces, on a pivoted root, inside cgroups, with capabilities, seccomp,
masked paths and hooks, following the OCI runtime lifecycle.

It knows nothing of images, names, networks or volumes: it is handed a bundle
(config.json and a root filesystem) and a state directory.  `cli` is the
runc-compatible command line; `container` holds the lifecycle verbs.
"""
