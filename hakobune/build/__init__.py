"""Build: Dockerfiles into images.

Owns the Dockerfile parser (`parser`: text → instructions, as BuildKit parses;
`check`: what a build refuses before running; `shell_words`: variable
substitution; `stages`: stages and ARG scopes), the build context
(`ignore`: .dockerignore rules and the context walk; `context`: COPY/ADD
sources, destinations and archives), the builder (`builder`: stages, every
instruction, the image config and history, the classic builder's output),
its cache (`cache`, with ``--cache-from`` in the builder), the live
``--progress=tty`` display of the builder's stream (`progress`), and the
Executor interface (`executor`) through which the engine runs RUN steps and
mounts step roots.  Never imports the engine or the runtime.
"""
