// ANSI SGR escapes in job logs: colours (16, 256 and true colour), bold,
// dim, italic, underline and resets. A parser keeps its state between
// chunks, so an escape split across two writes, or a colour set in one
// chunk and reset in a later one, comes out right. Other escape sequences
// (cursor movement, titles) are dropped.

export interface Style {
  /** `pN` is palette colour N (0–255, themed by CSS), `#rrggbb` true colour. */
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

export interface Span {
  text: string;
  style: Style;
}

const ESC = "\u001b";

/** Palette index `n` as a colour: 0–15 stay themed, the rest are fixed. */
export function paletteColour(n: number): string {
  if (n < 16) return `p${n}`;
  const hex = (v: number) => v.toString(16).padStart(2, "0");
  if (n < 232) {
    const i = n - 16;
    const level = (c: number) => (c === 0 ? 0 : 55 + c * 40);
    return `#${hex(level(Math.floor(i / 36)))}${hex(level(Math.floor(i / 6) % 6))}${hex(level(i % 6))}`;
  }
  const g = 8 + (n - 232) * 10;
  return `#${hex(g)}${hex(g)}${hex(g)}`;
}

function applySgr(style: Style, params: number[]): Style {
  const s = { ...style };
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) {
      for (const k of Object.keys(s)) delete s[k as keyof Style];
    } else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 22) {
      delete s.bold;
      delete s.dim;
    } else if (p === 23) delete s.italic;
    else if (p === 24) delete s.underline;
    else if (p >= 30 && p <= 37) s.fg = `p${p - 30}`;
    else if (p >= 90 && p <= 97) s.fg = `p${p - 90 + 8}`;
    else if (p >= 40 && p <= 47) s.bg = `p${p - 40}`;
    else if (p >= 100 && p <= 107) s.bg = `p${p - 100 + 8}`;
    else if (p === 39) delete s.fg;
    else if (p === 49) delete s.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? "fg" : "bg";
      if (params[i + 1] === 5 && params[i + 2] !== undefined) {
        s[key] = paletteColour(Math.min(255, params[i + 2]));
        i += 2;
      } else if (params[i + 1] === 2 && params[i + 4] !== undefined) {
        const c = (v: number) => Math.min(255, v).toString(16).padStart(2, "0");
        s[key] = `#${c(params[i + 2])}${c(params[i + 3])}${c(params[i + 4])}`;
        i += 4;
      }
    }
  }
  return s;
}

export class AnsiParser {
  private style: Style = {};
  private pending = "";

  /** The styled text of the next chunk of the log. */
  push(chunk: string): Span[] {
    const text = this.pending + chunk;
    this.pending = "";
    const out: Span[] = [];
    let plain = "";
    const flush = () => {
      if (plain) out.push({ text: plain, style: this.style });
      plain = "";
    };
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (c !== ESC) {
        plain += c;
        i++;
        continue;
      }
      if (i + 1 >= text.length) {
        this.pending = text.slice(i);
        break;
      }
      if (text[i + 1] === "[") {
        // CSI: parameters, then one final byte in @–~.
        let j = i + 2;
        while (j < text.length && !(text.charCodeAt(j) >= 0x40 && text.charCodeAt(j) <= 0x7e)) j++;
        if (j >= text.length) {
          this.pending = text.slice(i);
          break;
        }
        if (text[j] === "m") {
          flush();
          const params = text
            .slice(i + 2, j)
            .split(/[;:]/)
            .filter((p) => p !== "")
            .map(Number)
            .filter((n) => Number.isFinite(n));
          this.style = applySgr(this.style, params);
        }
        i = j + 1;
      } else if (text[i + 1] === "]") {
        // OSC (a title): up to BEL or ESC \.
        const bel = text.indexOf("\u0007", i);
        const st = text.indexOf(`${ESC}\\`, i);
        const end = bel < 0 ? st : st < 0 ? bel : Math.min(bel, st);
        if (end < 0) {
          this.pending = text.slice(i);
          break;
        }
        i = end + (end === st ? 2 : 1);
      } else {
        i += 2;
      }
    }
    flush();
    return out;
  }
}
