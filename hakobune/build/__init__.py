"""Build (issue: build): the Dockerfile parser, the build graph and its cache,
and the Executor interface through which the engine runs RUN steps; never
imports the engine or the runtime."""
