"""Go's text/tabwriter: aligned columns from tab-terminated cells.

docker prints every table through tabwriter.NewWriter(out, 10, 1, 3, ' ', 0),
which are this module's defaults: a column is as wide as its widest cell
plus 3 spaces of padding, and at least 10.  The rules are Go's:

- A cell is text terminated by a tab; the text after a line's last tab is
  not part of any column and is never padded.
- A column block is a run of consecutive lines that have a cell in that
  column; each block gets its own width, so a line with fewer cells ends the
  blocks of the columns it lacks.
- A line without any tab ends the table: everything before it is formatted
  and written, and what follows is aligned afresh.
- Widths count characters (runes), not display cells.

    align("NAME\tID\nweb\t1\n") == "NAME      ID\nweb       1\n"
"""

ALIGN_RIGHT = 4
DISCARD_EMPTY_COLUMNS = 8
TAB_INDENT = 16
DEBUG = 32


class _Cell:
    __slots__ = ("text", "width", "htab")

    def __init__(self, text: str, htab: bool):
        self.text = text
        self.width = len(text)
        self.htab = htab  # terminated by a tab, not a vertical tab


class _Line:
    __slots__ = ("cells", "newline")

    def __init__(self, cells: list, newline: bool):
        self.cells = cells
        self.newline = newline


def _split_cells(text: str) -> list:
    if "\v" not in text:
        parts = text.split("\t")
        cells = [_Cell(part, True) for part in parts]
        cells[-1].htab = False
        return cells
    cells = []
    start = 0
    for index, char in enumerate(text):
        if char in "\t\v":
            cells.append(_Cell(text[start:index], char == "\t"))
            start = index + 1
    cells.append(_Cell(text[start:], False))
    return cells


class TabWriter:
    """Collects text with write() and emits it aligned through `emit`
    (a function taking a str), at the latest on flush()."""

    def __init__(self, emit, minwidth: int = 10, tabwidth: int = 1, padding: int = 3, padchar: str = " ", flags: int = 0):
        self.emit = emit
        self.minwidth = minwidth
        self.tabwidth = tabwidth
        self.padding = padding
        self.padchar = padchar
        self.flags = flags & ~ALIGN_RIGHT if padchar == "\t" else flags
        self.pending = ""
        self.lines: list[_Line] = []

    def write(self, text: str) -> None:
        text = self.pending + text
        start = 0
        for index, char in enumerate(text) if "\f" in text else _newlines(text):
            if char not in "\n\f":
                continue
            cells = _split_cells(text[start:index])
            self.lines.append(_Line(cells, True))
            start = index + 1
            if char == "\f" or len(cells) == 1:
                self.flush_lines()
        self.pending = text[start:]

    def flush(self) -> None:
        """Write out everything, the last unterminated line included."""
        if self.pending:
            self.lines.append(_Line(_split_cells(self.pending), False))
            self.pending = ""
        self.flush_lines()

    def flush_lines(self) -> None:
        if not self.lines:
            return
        out: list[str] = []
        _Formatter(self, self.lines, out).format(0, len(self.lines))
        self.lines = []
        self.emit("".join(out))


def _newlines(text: str):
    """(index, "\\n") for each newline, quicker than enumerating every char."""
    index = text.find("\n")
    while index >= 0:
        yield index, "\n"
        index = text.find("\n", index + 1)


class _Formatter:
    def __init__(self, writer: TabWriter, lines: list, out: list):
        self.writer = writer
        self.lines = lines
        self.out = out
        self.widths: list[int] = []

    def format(self, line0: int, line1: int) -> None:
        """Write lines [line0, line1), the widths of columns left of
        len(self.widths) being known."""
        column = len(self.widths)
        this = line0
        while this < line1:
            if column >= len(self.lines[this].cells) - 1:
                this += 1
                continue
            self.write_lines(line0, this)
            line0 = this
            this, width = self.column_block(column, this, line1)
            self.widths.append(width)
            self.format(line0, this)
            self.widths.pop()
            line0 = this
        self.write_lines(line0, line1)

    def column_block(self, column: int, this: int, line1: int) -> tuple[int, int]:
        """The end of the block of lines with a cell in `column` starting at
        `this`, and the column's width in that block."""
        writer = self.writer
        width = writer.minwidth
        discardable = True
        while this < line1:
            cells = self.lines[this].cells
            if column >= len(cells) - 1:
                break
            cell = cells[column]
            width = max(width, cell.width + writer.padding)
            if cell.width > 0 or cell.htab:
                discardable = False
            this += 1
        if discardable and writer.flags & DISCARD_EMPTY_COLUMNS:
            width = 0
        return this, width

    def write_lines(self, line0: int, line1: int) -> None:
        if not self.writer.flags and self.writer.padchar != "\t":
            self.write_plain_lines(line0, line1)
            return
        out = self.out
        widths = self.widths
        flags = self.writer.flags
        for line in self.lines[line0:line1]:
            use_tabs = bool(flags & TAB_INDENT)
            for index, cell in enumerate(line.cells):
                if index and flags & DEBUG:
                    out.append("|")
                padded = index < len(widths)
                if not cell.text:
                    if padded:
                        out.append(self.padding(cell.width, widths[index], use_tabs))
                    continue
                use_tabs = False
                if flags & ALIGN_RIGHT and padded:
                    out.append(self.padding(cell.width, widths[index], False))
                    out.append(cell.text)
                else:
                    out.append(cell.text)
                    if padded:
                        out.append(self.padding(cell.width, widths[index], False))
            if line.newline:
                out.append("\n")

    def write_plain_lines(self, line0: int, line1: int) -> None:
        """write_lines for docker's settings: no flags, padding with a
        character other than tab."""
        out = self.out
        widths = self.widths
        pad = self.writer.padchar
        for line in self.lines[line0:line1]:
            cells = line.cells
            padded = min(len(widths), len(cells))
            for index in range(padded):
                cell = cells[index]
                out.append(cell.text + pad * (widths[index] - cell.width))
            for cell in cells[padded:]:
                out.append(cell.text)
            if line.newline:
                out.append("\n")

    def padding(self, text_width: int, cell_width: int, use_tabs: bool) -> str:
        writer = self.writer
        if writer.padchar == "\t" or use_tabs:
            if writer.tabwidth == 0:
                return ""
            cell_width = -(-cell_width // writer.tabwidth) * writer.tabwidth
            return "\t" * -(-(cell_width - text_width) // writer.tabwidth)
        return writer.padchar * (cell_width - text_width)


def align(text: str, minwidth: int = 10, tabwidth: int = 1, padding: int = 3, padchar: str = " ", flags: int = 0) -> str:
    """`text` written through a TabWriter with these settings and flushed."""
    out: list[str] = []
    writer = TabWriter(out.append, minwidth, tabwidth, padding, padchar, flags)
    writer.write(text)
    writer.flush()
    return "".join(out)
