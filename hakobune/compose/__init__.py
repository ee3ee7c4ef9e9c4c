"""Compose (issue 9): `hakobune compose`, a client of the engine library.

- `interpolation`: ${VAR} substitution in compose files;
- `loader`: finding, reading, interpolating, merging and checking compose
  files into the resolved model (plain dicts, as `config` prints it), the
  project's name, profiles, .env, extends, secrets and configs from files;
- `services`: one service's keys in their canonical forms, and start order;
- `convert`: a service of the model → Docker's create body, its labels and
  config hash, through hakobune.createbody (the same code that turns
  `run`'s flags into it), so that compose and `run` build one body;
- `project`: converging a project through hakobune.engine.Engine only
  (networks, volumes, containers named `<project>-<service>-<n>`, found
  again by their com.docker.compose.* labels).

The commands themselves are hakobune.cli.compose (tree) and
hakobune.cli.compose_handlers.
"""
