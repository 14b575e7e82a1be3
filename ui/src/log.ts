// A job's log as lines of styled spans, built chunk by chunk as the
// jobLogEvents subscription delivers it (a line, or an escape, may be split
// between chunks).
import { AnsiParser, type Span } from "./ansi";

export class LogLines {
  private parser = new AnsiParser();
  /** Styled lines; the last one is still being written. */
  readonly lines: Span[][] = [[]];
  /** The same lines as plain text, for search. */
  readonly plain: string[] = [""];

  /** The byte offset of the end of what has been appended. */
  end = 0;

  /**
   * The text of the log from byte `offset` to `next`. A piece already
   * appended (the same offset again, after a resubscription) is ignored, so
   * no line is ever doubled.
   */
  appendAt(offset: number, next: number, text: string) {
    if (offset !== this.end) return;
    this.end = next;
    this.append(text);
  }

  append(text: string) {
    for (const span of this.parser.push(text)) {
      const parts = span.text.split("\n");
      parts.forEach((part, i) => {
        if (i > 0) {
          this.lines.push([]);
          this.plain.push("");
        }
        if (part) {
          // Text of one style written in several chunks is one span.
          const line = this.lines[this.lines.length - 1];
          const tail = line[line.length - 1];
          if (tail && tail.style === span.style) line[line.length - 1] = { text: tail.text + part, style: tail.style };
          else line.push({ text: part, style: span.style });
          this.plain[this.plain.length - 1] += part;
        }
      });
    }
  }

  /** How many lines there are to show (a final empty line is not one). */
  get count(): number {
    const n = this.lines.length;
    return n > 0 && this.lines[n - 1].length === 0 ? n - 1 : n;
  }

  /** The numbers (1-based) of the lines that contain `query`, ignoring case. */
  search(query: string): number[] {
    if (!query) return [];
    const q = query.toLowerCase();
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) if (this.plain[i].toLowerCase().includes(q)) out.push(i + 1);
    return out;
  }
}
