"""model.summary() as Keras 3 prints it without colours: a table drawn with box characters,
its columns at Keras's proportions of the line (88 characters, 108 with "Connected to",
at most the terminal's width less 4), cells wrapped at spaces, then the parameter totals
with their size in bytes."""
import shutil
import textwrap


def render(rows, name, totals, graph, line_length=None, positions=None):
    """rows: (layer, output shape, params, connected to) per layer; totals: (total, trainable)
    parameters, or None when the model is not built."""
    header = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if graph else [])
    right = [False, False, True, False]
    default = 108 if graph else 88
    positions = positions or ([0.3, 0.56, 0.74, 1.0] if graph else [0.45, 0.80, 1.0])
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    if positions[-1] <= 1:
        positions = [int(p * line_length) for p in positions]
    widths, current = [], 0
    for position in positions:
        widths.append(position - current)
        current = position
    if min(widths) < 4:
        raise ValueError("summary: the line is too narrow to print the table")
    widths = _fit(widths, line_length)
    cells = [row[:len(header)] for row in rows]
    lines = [f'Model: "{name}"', _border("┏", "━", "┳", "┓", widths)]
    lines += _row(header, widths, right, "┃")
    lines.append(_border("┡", "━", "╇", "┩", widths))
    for index, row in enumerate(cells):
        if index:
            lines.append(_border("├", "─", "┼", "┤", widths))
        lines += _row(row, widths, right, "│")
    lines.append(_border("└", "─", "┴", "┘", widths))
    if totals is None:
        lines.append(" The model is not built yet: give its input shape (input_shape=, keras.Input), or call build() "
                     "or fit().")
    else:
        total, trainable = totals
        for label, count in (("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)):
            lines.append(f" {label} params: {count:,} ({_bytes(4 * count)})")
    return "\n".join(lines) + "\n"


def _fit(widths, line_length):
    """Column widths with their padding, reduced evenly to fit the line with its borders, as
    Keras's table (fixed widths, one space of padding each side) does."""
    padded = [w + 2 for w in widths]
    excess = sum(padded) - (line_length - (len(widths) + 1))
    if excess <= 0:
        return padded
    remaining, share, result = excess, len(padded), []
    for width in padded:
        taken = min(width, round(remaining / share))
        result.append(width - taken)
        remaining -= taken
        share -= 1
    return result


def _border(left, line, middle, right, widths):
    return left + middle.join(line * w for w in widths) + right


def _row(cells, widths, right, bar):
    wrapped = [textwrap.wrap(str(cell), max(1, width - 2), break_on_hyphens=False) or [""]
               for cell, width in zip(cells, widths)]
    height = max(len(lines) for lines in wrapped)
    rows = []
    for line in range(height):
        parts = []
        for lines, width, flush_right in zip(wrapped, widths, right):
            text = lines[line] if line < len(lines) else ""
            parts.append(" " + (text.rjust(width - 2) if flush_right else text.ljust(width - 2)) + " ")
        rows.append(bar + bar.join(parts) + bar)
    return rows


def _bytes(size):
    for unit in ["B", "KB", "MB", "GB", "TB"]:
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")" if shape is not None else "?"
