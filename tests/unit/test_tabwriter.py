"""hakobune.cli.tabwriter against Go's text/tabwriter.

RECORDED tables are real docker CLI 28.2.2 output (from
/work/shared/reference/engine-api): each is cut back into tab-separated cells
at its header's column starts and must come back unchanged through align()
with docker's settings.
"""

import re

import pytest
from hypothesis import given, strategies as st

from hakobune.cli.tabwriter import ALIGN_RIGHT, DEBUG, DISCARD_EMPTY_COLUMNS, TabWriter, align

RECORDED = {
    "docker ps": """\
CONTAINER ID   IMAGE           COMMAND        CREATED         STATUS         PORTS     NAMES
0b965b060801   busybox:local   "sleep 3600"   2 minutes ago   Up 2 minutes             anch-exec
""",
    "docker ps -a --filter": """\
CONTAINER ID   IMAGE           COMMAND                   CREATED          STATUS                      PORTS     NAMES
900d72fee82d   busybox:local   "sh -c 'echo created…"    7 seconds ago    Exited (0) 2 seconds ago              apirec-created
1c874e0b4235   busybox:local   "sh -c 'trap \\"exit 0…"   18 seconds ago   Exited (0) 17 seconds ago             apirec-stoppable
d04ed77d81f7   busybox:local   "sh -c 'echo tty lin…"    12 minutes ago   Exited (0) 2 minutes ago              apirec-ttylogger
""",
    "docker ps -a -s --no-trunc": """\
CONTAINER ID                                                       IMAGE           COMMAND        CREATED          STATUS          PORTS     NAMES            SIZE
181d7d57ac151fd710c5c3fa73a1205117f6c463ce11f2be9e17c84c64677b6b   busybox:local   "sleep 3600"   12 minutes ago   Up 14 seconds             apirec-sleeper   0B (virtual 1.98MB)
""",
    "docker images --digests": """\
REPOSITORY   TAG       DIGEST    IMAGE ID       CREATED         SIZE
busybox      local     <none>    c0efc0685e08   7 minutes ago   1.98MB
""",
    "docker network ls": """\
NETWORK ID     NAME         DRIVER    SCOPE
8e5d44461122   apirec-net   bridge    local
ad90b8f779ee   bridge       bridge    local
8dce23496ea3   host         host      local
eefaa55aaeb3   none         null      local
""",
    "docker volume ls": """\
DRIVER    VOLUME NAME
local     apirec-vol
local     apirec-vol1
local     apirec-vol2
""",
    "docker history": """\
IMAGE          CREATED                  CREATED BY                                      SIZE      COMMENT
fe60fbbc245e   Less than a second ago   sh -c echo new > /newfile; busybox mkdir /ne…   14B       apirec commit
c0efc0685e08   24 minutes ago                                                           1.98MB    Imported from -
""",
    "docker stats --no-stream": """\
CONTAINER ID   NAME             CPU %     MEM USAGE / LIMIT   MEM %     NET I/O       BLOCK I/O   PIDS
181d7d57ac15   apirec-sleeper   0.00%     472KiB / 23.54GiB   0.00%     1.05kB / 0B   0B / 0B     2
""",
    "docker system df": """\
TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          13        3         52.74MB   50.75MB (96%)
Containers      6         5         41B       14B (34%)
Local Volumes   0         0         0B        0B
Build Cache     31        0         44.78MB   44.78MB
""",
    "docker context ls": """\
NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR
default *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n""",
}

# docker top aligns with a minimum width of 20.
RECORDED_TOP = """\
UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD
root                11539               20715               0                   20:21               ?                   00:00:00            sleep 5
root                20735               20715               0                   20:11               ?                   00:00:00            sleep 3600
"""


def to_cells(table: str) -> str:
    """The recorded table back as docker's tabwriter input."""
    lines = table.split("\n")
    starts = [0] + [match.end() for match in re.finditer(r" {2,}", lines[0])]
    rows = []
    for line in lines[:-1]:
        bounds = list(zip(starts, starts[1:] + [None]))
        cells = [line[start:end].rstrip(" ") if end else line[start:] for start, end in bounds]
        rows.append("\t".join(cells))
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_docker_tables_align_as_recorded(name):
    assert align(to_cells(RECORDED[name])) == RECORDED[name]


def test_docker_top_aligns_with_minwidth_20():
    assert align(to_cells(RECORDED_TOP), minwidth=20) == RECORDED_TOP


def test_columns_are_the_widest_cell_plus_padding_but_at_least_minwidth():
    assert align("a\tbbbbbbbbbbbbbb\tc\nxx\ty\tz\n") == ("a         bbbbbbbbbbbbbb   c\n"
                                                        "xx        y                z\n")


def test_the_last_cell_of_a_line_is_not_padded():
    assert align("a\tb\n") == "a         b\n"
    assert align("a\tb\t\n") == "a         b         \n"


def test_empty_cells_are_padded():
    assert align("a\t\tc\n") == "a                   c\n"


def test_a_line_without_tabs_ends_the_table():
    text = "long-name-here\tx\nplain line\na\tb\n"
    assert align(text) == "long-name-here   x\nplain line\na         b\n"


def test_width_counts_characters_not_bytes():
    assert align("é…\tx\nab\ty\n") == "é…        x\nab        y\n"


def test_unterminated_last_line_is_written_on_flush():
    assert align("a\tb\nc\td") == "a         b\nc         d"


def test_writes_in_pieces_give_the_same_output():
    text = "NAME\tID\nweb\t1\ndatabase-server\t22\n"
    out: list[str] = []
    writer = TabWriter(out.append)
    for char in text:
        writer.write(char)
    writer.flush()
    assert "".join(out) == align(text)


def test_go_example_elastic_columns():
    # Go's text/tabwriter Example_elastic: the b's and the d's are different columns.
    text = "a\tb\tc\naa\tbb\tcc\naaa\t\naaaa\tdddd\teeee\n"
    expected = "....a|..b|c\n...aa|.bb|cc\n..aaa|\n.aaaa|.dddd|eeee\n"
    assert align(text, 0, 0, 1, ".", ALIGN_RIGHT | DEBUG) == expected


def test_go_example_trailing_tab():
    text = "a\tb\taligned\t\naa\tbb\taligned\t\naaa\tbbb\tunaligned\naaaa\tbbbb\taligned\t\n"
    expected = ("------a|------b|---aligned|\n"
                "-----aa|-----bb|---aligned|\n"
                "----aaa|----bbb|unaligned\n"
                "---aaaa|---bbbb|---aligned|\n")
    assert align(text, 0, 0, 3, "-", ALIGN_RIGHT | DEBUG) == expected


def test_go_example_init_with_tab_padding():
    text = "a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n\n"
    assert align(text, 0, 8, 0, "\t") == "a\tb\tc\td\t\t.\n123\t12345\t1234567\t123456789\t.\n\n"


def test_go_example_init_right_aligned():
    text = "a\tb\tc\td\t.\n123\t12345\t1234567\t123456789\t.\n\n"
    expected = "    a     b       c         d.\n  123 12345 1234567 123456789.\n\n"
    assert align(text, 5, 0, 1, " ", ALIGN_RIGHT) == expected


def test_discard_empty_columns_drops_only_soft_empty_columns():
    assert align("a\v\vb\n", 0, 1, 1, ".", DISCARD_EMPTY_COLUMNS) == "a.b\n"
    assert align("a\v\vb\n", 0, 1, 1, ".", 0) == "a..b\n"
    assert align("a\t\tb\n", 0, 1, 1, ".", DISCARD_EMPTY_COLUMNS) == "a..b\n"


def test_vertical_tab_terminates_a_cell_too():
    assert align("a\vb\nccc\vd\n", 0, 1, 1, ".") == "a...b\nccc.d\n"


def test_form_feed_ends_the_table():
    assert align("aaaaaa\tb\fc\td\n", 0, 1, 1, ".") == "aaaaaa.b\nc.d\n"


cell_text = st.text(alphabet=st.characters(blacklist_characters="\t\n\v\f", blacklist_categories=("Cs",)), max_size=8)


@given(st.lists(st.lists(cell_text, min_size=2, max_size=5), min_size=1, max_size=6))
def test_aligned_rows_start_every_column_at_the_same_place(rows):
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    out = align("".join("\t".join(row) + "\n" for row in rows))
    for column in range(width - 1):
        widest = max(len(row[column]) for row in rows)
        expected = max(10, widest + 3)
        for line, row in zip(out.split("\n"), rows):
            start = sum(max(10, max(len(r[c]) for r in rows) + 3) for c in range(column))
            assert line[start:start + expected].rstrip(" ") == row[column].rstrip(" ")
