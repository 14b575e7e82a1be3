import { describe, expect, it } from "vitest";
import { ApiError, dataOf, problemLines } from "./graphql";

describe("dataOf", () => {
  it("returns the data of a successful response", () => {
    expect(dataOf({ data: { me: { name: "rita" } } })).toEqual({ me: { name: "rita" } });
  });
  it("throws every error's message, with the first one's code", () => {
    try {
      dataOf({
        data: null,
        errors: [
          { message: "authentication required", extensions: { code: "UNAUTHENTICATED" } },
          { message: "and another" },
        ],
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).message).toBe("authentication required; and another");
      expect((e as ApiError).code).toBe("UNAUTHENTICATED");
    }
  });
  it("refuses a response with neither data nor errors", () => {
    expect(() => dataOf({})).toThrow(/without data or errors/);
  });
});

describe("problemLines", () => {
  it("names the field and the line and column", () => {
    expect(
      problemLines([
        { field: "hcl", message: "unknown variable nope", line: 3, column: 43 },
        { field: null, message: "no stage" },
      ]),
    ).toEqual(["hcl: unknown variable nope (3:43)", "no stage"]);
  });
});
