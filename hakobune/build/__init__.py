"""Build: Dockerfiles into images.

Owns the Dockerfile parser (`parser`: text → instructions, as BuildKit parses;
`check`: what a build refuses before running; `shell_words`: variable
substitution; `stages`: stages and ARG scopes), the build context
(`ignore`: .dockerignore rules and the context walk), and later the build
graph, its cache, and the Executor interface through which the engine runs
RUN steps.  Never imports the engine or the runtime.
"""
