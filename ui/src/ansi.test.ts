import { describe, expect, it } from "vitest";
import { AnsiParser, paletteColour } from "./ansi";

const ESC = "\u001b";

describe("AnsiParser", () => {
  it("passes plain text through", () => {
    expect(new AnsiParser().push("hello\n")).toEqual([{ text: "hello\n", style: {} }]);
  });
  it("reads the 16 colours, bold and a reset", () => {
    const spans = new AnsiParser().push(`${ESC}[1;31merror${ESC}[0m ok ${ESC}[92mgreen`);
    expect(spans).toEqual([
      { text: "error", style: { bold: true, fg: "p1" } },
      { text: " ok ", style: {} },
      { text: "green", style: { fg: "p10" } },
    ]);
  });
  it("reads 256 and true colours, foreground and background", () => {
    const spans = new AnsiParser().push(`${ESC}[38;5;196;48;2;0;128;255mx`);
    expect(spans).toEqual([{ text: "x", style: { fg: "#ff0000", bg: "#0080ff" } }]);
    expect(paletteColour(3)).toBe("p3");
    expect(paletteColour(232)).toBe("#080808");
    expect(paletteColour(16)).toBe("#000000");
  });
  it("keeps an escape split across chunks, and the style across chunks", () => {
    const p = new AnsiParser();
    expect(p.push(`a${ESC}`)).toEqual([{ text: "a", style: {} }]);
    expect(p.push("[3")).toEqual([]);
    expect(p.push("2mb")).toEqual([{ text: "b", style: { fg: "p2" } }]);
    expect(p.push("c")).toEqual([{ text: "c", style: { fg: "p2" } }]);
    expect(p.push(`${ESC}[39md`)).toEqual([{ text: "d", style: {} }]);
  });
  it("turns attributes off one at a time", () => {
    const p = new AnsiParser();
    expect(p.push(`${ESC}[1;3;4ma${ESC}[22mb${ESC}[23;24mc`)).toEqual([
      { text: "a", style: { bold: true, italic: true, underline: true } },
      { text: "b", style: { italic: true, underline: true } },
      { text: "c", style: {} },
    ]);
  });
  it("drops other sequences: cursor moves and titles", () => {
    expect(new AnsiParser().push(`${ESC}[2K${ESC}]0;title\u0007done`)).toEqual([{ text: "done", style: {} }]);
  });
});
